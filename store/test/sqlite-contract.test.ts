import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import { openStore } from '../src';
import { describeStoreContract } from './contract';

describeStoreContract('SQLite', async () => {
  const dir = tempDir('store-sqlite');
  const store = await openStore({ type: 'sqlite', path: join(dir, 'ts.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
