import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnPeer, waitFor, type Peer } from '@tamky/test-support';
import type { CityModel } from '@tamky/protocol';
import { LIMITS_DIR } from './fixtures';

const REPO = join(import.meta.dirname, '../../..');

/**
 * Runs the real CLI as a child process. `node --import tsx` rather than `npx tsx` so that SIGKILL hits the
 * ingest process itself (npx would leave its grandchild running).
 */
export class IngestChild {
  private peer: Peer | undefined;
  readonly configPath: string;

  constructor(
    dir: string,
    config: Record<string, unknown>,
    city: CityModel,
    readonly metricsPort: number,
  ) {
    const cityPath = join(dir, 'city.yaml');
    writeFileSync(cityPath, stringify(city));
    this.configPath = join(dir, `ingest-${metricsPort}.yaml`);
    writeFileSync(this.configPath, stringify({ ...config, city: cityPath, limitsDir: LIMITS_DIR, metrics: { port: metricsPort } }));
  }

  /** Starts and waits until /metrics answers (served once the broker subscription is in place). */
  async start(): Promise<void> {
    this.peer = spawnPeer(process.execPath, ['--import', 'tsx', 'ingest/src/cli.ts', '--config', this.configPath], {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: process.env.INGEST_CHILD_LOG ?? 'warn' },
      ...(process.env.INGEST_CHILD_LOG_FILE
        ? { stdio: ['ignore', openSync(process.env.INGEST_CHILD_LOG_FILE, 'a'), openSync(process.env.INGEST_CHILD_LOG_FILE, 'a')] }
        : {}),
    });
    const peer = this.peer;
    await waitFor(
      async () => {
        if (peer.child.exitCode !== null) throw new Error(`ingest exited: ${peer.output().slice(-2000)}`);
        return (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).ok;
      },
      { what: 'ingest child /metrics', timeoutMs: 40_000, intervalMs: 100 },
    );
  }

  async kill(): Promise<void> {
    await this.peer?.kill();
  }

  async stop(): Promise<void> {
    await this.peer?.stop();
  }

  output(): string {
    return this.peer?.output() ?? '';
  }
}
