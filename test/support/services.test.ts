import { describeWithRedis } from './services';
import net from 'node:net';

describeWithRedis('test services', () => {
  it('reaches the Redis the suites use', async () => {
    const url = new URL(process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: url.hostname, port: Number(url.port || 6379) }, () => s.write('PING\r\n'));
      s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
      s.once('error', reject);
    });
    expect(reply).toBe('+PONG\r\n');
  });
});
