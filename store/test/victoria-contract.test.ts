import { afterAll, beforeAll } from 'vitest';
import { startVictoriaMetrics } from '@tamky/test-support';
import { openStore } from '../src';
import { describeStoreContract } from './contract';

let vm: Awaited<ReturnType<typeof startVictoriaMetrics>>;
let n = 0;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
});
afterAll(async () => {
  await vm?.stop();
});

// One server for the file; each test writes under a measurement of its own, so it starts empty.
describeStoreContract('VictoriaMetrics (Debian 1.79) via /write + Prometheus query API', async () => {
  const store = await openStore({ type: 'victoriametrics', url: vm.url, measurement: `contract_${++n}` });
  return { store, cleanup: () => store.close() };
});
