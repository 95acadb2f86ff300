/** `metrics.listen` (TESSERA_METRICS_LISTEN): a `host:port` checked when the configuration loads. */
import { loadConfig, type ConfigError } from '../../src/config/load';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
    return [];
  } catch (err) {
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe('metrics.listen', () => {
  it('is unset by default: /metrics stays on the public port, behind an admin token', () => {
    expect(loadConfig({ env: {} }).config.metrics.listen).toBeNull();
  });

  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['metrics.internal:0', { host: 'metrics.internal', port: 0 }],
  ])('reads %s', (value, expected) => {
    expect(loadConfig({ env: { TESSERA_METRICS_LISTEN: value } }).config.metrics.listen).toEqual(expected);
  });

  it.each(['9464', 'http://127.0.0.1:9464', '127.0.0.1:99999', '127.0.0.1:9464/metrics', '::1:9464'])('refuses %s, naming the variable', (value) => {
    expect(problems({ TESSERA_METRICS_LISTEN: value })).toEqual(['metrics.listen: must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464 (TESSERA_METRICS_LISTEN)']);
  });

  it('refuses the hub\'s own port: the metrics would be on the public port after all', () => {
    expect(problems({ TESSERA_PORT: '8080', TESSERA_METRICS_LISTEN: '0.0.0.0:8080' })).toEqual(['metrics.listen: must use another port than the hub (listen.port) (TESSERA_METRICS_LISTEN)']);
  });
});
