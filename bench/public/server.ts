/**
 * The dashboard under test, in a process of its own (bench/public/bench.ts forks it) so the crowd and the
 * operator probe never share its event loop. IPC: sends {url, pid} when ready; answers {latestCalls} to
 * 'stats' (how often the store was read: the public cache should read it about once per TTL); exits on 'close'.
 */
import { join } from 'node:path';
import { startHarness } from '../../dashboard/server/test/helpers';
import { publicReadings } from '../../dashboard/server/test/public-fields';

const root = join(import.meta.dirname, '../..');
const h = await startHarness({
  config: {
    http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080', trustedProxies: ['127.0.0.1'] },
    webDist: join(root, 'dashboard/web/dist'),
    public: { show: { aqi: [], noise: [], flood: [] }, cacheSeconds: 30 },
    map: { wardAreas: join(root, 'config/tam-ky/wards.geojson'), basemap: { type: 'none' }, allowOrigins: [] },
  },
});
await h.store.writeBatch(publicReadings(Date.now() - 60_000));
let latestCalls = 0;
const latest = h.store.latest.bind(h.store);
h.store.latest = (filter) => {
  latestCalls++;
  return latest(filter);
};
process.on('message', async (m) => {
  if (m === 'stats') process.send!({ latestCalls });
  if (m === 'close') {
    await h.close();
    process.exit(0);
  }
});
process.send!({ url: h.url, pid: process.pid });
