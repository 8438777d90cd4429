// Entry of the SQLite store's worker thread. Workers start without the parent's module hooks when the
// parent was not started through tsx (vitest, a bundled build), so TypeScript loading is registered here.
import { register } from 'tsx/esm/api';

register();
await import('./store-thread.ts');
