/**
 * HTML escaping for every value interpolated into markup: the hub's views and the HTML part of
 * e-mails (SECURITY.md "HTML and JS output escapes everything it interpolates").
 */

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // Old Internet Explorer treated a backtick as an attribute quote; escaping it costs nothing.
  '`': '&#96;',
};

/**
 * Escapes `& < > " ' \``, so the result is safe in element content and in quoted attribute
 * values. Not for unquoted attributes, URLs in `href` (check the scheme first), or `<script>`.
 *
 * @example
 * `<a title="${escapeHtml(name)}">${escapeHtml(name)}</a>`
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (ch) => entities[ch] as string);
}
