import { afterAll, beforeAll } from 'vitest';
import { startInfluxd } from '@tamky/test-support';
import { openStore } from '../src';
import { describeStoreContract } from './contract';

let influxd: Awaited<ReturnType<typeof startInfluxd>>;
let n = 0;
beforeAll(async () => {
  influxd = await startInfluxd();
});
afterAll(async () => {
  await influxd?.stop();
});

describeStoreContract('InfluxDB 1.6.7 via /write + InfluxQL', async () => {
  const store = await openStore({ type: 'influxdb', url: influxd.url, api: 'v1', database: `contract_${++n}` });
  return { store, cleanup: () => store.close() };
});
