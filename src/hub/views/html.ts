/**
 * A tagged template for the hub's server-rendered pages that escapes every interpolated value
 * unless it is already `SafeHtml` (the result of another `html` template). Escaping is the
 * default, so forgetting it is impossible rather than merely unlikely.
 *
 * @example
 * const page = html`<p>Signed in as ${user.email}</p>`;
 */
import { escapeHtml } from '../../core/html/escape';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Interpolation = string | number | boolean | null | undefined | SafeHtml | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map((v) => render(v as Interpolation)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/**
 * JSON for embedding inside a `<script>` element: `<`, `>`, `&` and the line separators are
 * written as `\u` escapes so the data can never close the script element or open a comment
 * (SECURITY.md: `<` as `\u003c` inside scripts).
 */
export function scriptJson(value: unknown): SafeHtml {
  const json = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new SafeHtml(json);
}
