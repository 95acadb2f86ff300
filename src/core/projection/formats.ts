/**
 * One entry point for the three projection formats (`projection.format` in the config): the
 * receiver picks a codec once per site and never branches on the format again.
 */
import { decodeJsonSession, encodeJsonSession } from './json';
import { decodePhpSerializeSession, decodePhpSession, encodePhpSerializeSession, encodePhpSession, type PhpValue } from './php';

/** How a projection is encoded: JSON, or one of PHP's session serialize handlers. */
export type ProjectionFormat = 'json' | 'php_serialize' | 'php';

/** Encodes and decodes whole sessions in one format; both throw `ERR_PROJECTION_FORMAT`. */
export interface ProjectionCodec {
  readonly format: ProjectionFormat;
  encode(data: Record<string, PhpValue>): string;
  decode(text: string): Record<string, PhpValue>;
}

const codecs: Readonly<Record<ProjectionFormat, ProjectionCodec>> = {
  json: { format: 'json', encode: encodeJsonSession, decode: decodeJsonSession },
  php_serialize: { format: 'php_serialize', encode: encodePhpSerializeSession, decode: decodePhpSerializeSession },
  php: { format: 'php', encode: encodePhpSession, decode: decodePhpSession },
};

/**
 * The codec for `format`.
 *
 * @example
 * projectionCodec('php_serialize').encode({ user_id: 7 }); // 'a:1:{s:7:"user_id";i:7;}'
 * projectionCodec('php').decode('user_id|i:7;');           // { user_id: 7 }
 */
export function projectionCodec(format: ProjectionFormat): ProjectionCodec {
  // hasOwn: a format read from untrusted config must not find `toString` on the prototype.
  if (!Object.hasOwn(codecs, format)) throw new TypeError(`unknown projection format '${String(format)}'`);
  return codecs[format];
}

export type { PhpValue };
