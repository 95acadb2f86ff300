/**
 * `GET /.well-known/jwks.json`: the hub's public signing keys, so every site verifies handoff
 * and logout tokens without a shared secret. Built by the keyring from an allow-list of public
 * fields; cacheable for `keys.jwksMaxAgeSeconds`, which the rotation schedule waits out before a
 * new key signs (DESIGN.md "Keys and JWKS").
 */
import type { Context } from 'koa';
import type { RouteFactory } from '../route';

export const jwks: RouteFactory = ({ keyring, config }) => ({
  name: 'jwks',
  method: 'GET',
  kind: 'plain',
  path: '/.well-known/jwks.json',
  middleware: [
    function publishKeys(ctx: Context) {
      ctx.set('Cache-Control', `public, max-age=${config.keys.jwksMaxAgeSeconds}`);
      // Sites and other-language verifiers fetch this cross-origin; it holds only public keys
      // and carries no credentials, so a wildcard without credentials is safe.
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.type = 'application/jwk-set+json';
      ctx.body = JSON.stringify(keyring.jwks());
    },
  ],
});
