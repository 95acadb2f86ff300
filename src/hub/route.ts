import type { Middleware } from 'koa';
import type { HubDeps } from './deps';

/**
 * One endpoint of the hub: a method, a path and an array of *named* middleware, so a behaviour
 * is found from its URL in one hop (src/hub/routes/<name>.ts) and all routes are wired in one
 * place (src/hub/routes.ts).
 */
export interface Route {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /**
   * `page`: renders HTML for people — gets the hub session and the nonce CSP.
   * `session`: needs the hub session but renders no page.
   * `plain`: neither (JWKS, health, APIs with their own authentication).
   */
  kind: 'page' | 'session' | 'plain';
  middleware: Middleware[];
}

export type RouteFactory = (deps: HubDeps) => Route;
