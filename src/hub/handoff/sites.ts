/**
 * The hub's one {@link SiteRegistry} per configuration. Every receiver request looks its site up
 * by host, so the registry is built once rather than per request; keyed weakly by the (frozen)
 * config object so a test hub with another config gets its own.
 */
import type { Config, Site } from '../../config/schema';
import { SiteRegistry } from '../../core/sites/registry';

const registries = new WeakMap<Config, SiteRegistry<Site>>();

/**
 * The configured sites as a registry.
 *
 * @example
 * const site = siteRegistry(deps.config).byHost(ctx.host);
 */
export function siteRegistry(config: Config): SiteRegistry<Site> {
  let registry = registries.get(config);
  if (registry === undefined) {
    registry = new SiteRegistry(config.publicUrl, config.sites);
    registries.set(config, registry);
  }
  return registry;
}
