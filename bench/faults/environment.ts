import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import type { CityModel, TimeSeriesStore } from '@tamky/protocol';
import { hashSecret } from '@tamky/broker';
import { openStore, type StoreConfig } from '@tamky/store';
import {
  freePort,
  requireBinary,
  spawnPeer,
  startInfluxd,
  startRedis,
  startVictoriaMetrics,
  waitFor,
  waitForPort,
  type Peer,
} from '@tamky/test-support';
import { REPO_ROOT } from './city';
import { startHttpRefuser, type HttpRefuser } from './http-refuser';
import { ManagedProcess, peakRssKb } from './managed-process';
import { processCpuMs } from '../support/proc-cpu';

/** A peer's CPU so far, or the last value read if it has exited. */
function lastCpuMs(pid: number, last: number): number {
  try {
    return processCpuMs(pid);
  } catch {
    return last;
  }
}
import { startObserver, type Observer } from './observer';
import { readOutboxDir } from './outbox-seqs';
import { startTcpProxy, type TcpProxy } from './proxy';

export type StoreKind = 'sqlite' | 'influxdb' | 'victoriametrics';

export interface EnvironmentOptions {
  dir: string;
  city: CityModel;
  store: StoreKind;
  gatewaysPerProcess: number;
  clockSkewMs?: Record<string, number>;
  /**
   * Readings per live-feed message from ingest. Ingest's default (2000 ≈ 580 KB at city scale) exceeds the
   * broker's default maxPacketBytes (256 KiB): the broker then disconnects ingest at every big batch (found
   * by the city run, see RESULTS.md). The harness uses 500 (≈ 145 KB) unless told otherwise.
   */
  liveChunk?: number;
}

/**
 * One complete system for one fault run, every part a separate OS process where the brief asks for it:
 * redis (broker sessions), the broker CLI, the ingest CLI, the store (SQLite file written by ingest, or
 * influxd 1.6.7 behind an HTTP proxy that can refuse writes), gateway processes behind a TCP proxy that
 * can cut the link, and an observer client in the harness itself (which is never faulted).
 */
export class Environment {
  readonly outboxDir: string;
  readonly secrets: Record<string, string>;
  readonly ingestSecret = randomBytes(12).toString('base64url');
  brokerPort = 0;
  redis!: Peer & { url: string };
  influx: (Peer & { url: string; dir: string; port: number }) | undefined;
  refuser: HttpRefuser | undefined;
  victoria: (Peer & { url: string }) | undefined;
  proxy!: TcpProxy;
  broker!: ManagedProcess;
  ingest!: ManagedProcess;
  gatewayProcs: ManagedProcess[] = [];
  /** Gateway processes of earlier phases (kept for their peak RSS). */
  private retired: ManagedProcess[] = [];
  observer!: Observer;
  private influxPeakKb = 0;
  private redisPeakKb = 0;
  private influxCpuMs = 0;
  private redisCpuMs = 0;
  private sqliteLock: Database.Database | undefined;
  private readonly cityFile: string;
  private readonly logDir: string;

  constructor(readonly opts: EnvironmentOptions) {
    this.outboxDir = join(opts.dir, 'outbox');
    this.logDir = join(opts.dir, 'logs');
    mkdirSync(this.outboxDir, { recursive: true });
    mkdirSync(this.logDir, { recursive: true });
    this.cityFile = join(opts.dir, 'city.json');
    writeFileSync(this.cityFile, JSON.stringify(opts.city));
    this.secrets = Object.fromEntries(opts.city.gateways.map((g) => [g.id, randomBytes(12).toString('base64url')]));
  }

  get sqlitePath(): string {
    return join(this.opts.dir, 'readings.db');
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.brokerPort}`;
  }

  storeConfig(): StoreConfig {
    if (this.opts.store === 'sqlite') return { type: 'sqlite', path: this.sqlitePath };
    if (this.opts.store === 'victoriametrics') return { type: 'victoriametrics', url: this.refuser!.url, timeoutMs: 10_000 };
    return { type: 'influxdb', api: 'v1', url: this.refuser!.url, database: 'city', timeoutMs: 10_000 };
  }

  async start(): Promise<void> {
    const { dir, city } = this.opts;
    this.redis = await startRedis();
    if (this.opts.store === 'influxdb') {
      this.influx = await startInfluxd();
      this.refuser = await startHttpRefuser(this.influx.url);
    }
    if (this.opts.store === 'victoriametrics') {
      this.victoria = await startVictoriaMetrics();
      this.refuser = await startHttpRefuser(this.victoria.url);
    }
    // Production-strength scrypt hashes: the CONNECT storm after a broker restart is part of what is measured.
    const gateways = await Promise.all(city.gateways.map(async (g) => ({ id: g.id, secretHash: await hashSecret(this.secrets[g.id]!) })));
    this.brokerPort = await freePort();
    const brokerFile = join(dir, 'broker.yaml');
    writeFileSync(
      brokerFile,
      stringify({
        profile: 'development', // anonymous loopback access for the observer; gateways and ingest authenticate
        listeners: { mqtt: { host: '127.0.0.1', port: this.brokerPort } },
        credentials: { gateways, services: [{ username: 'ingest', role: 'ingest', secretHash: await hashSecret(this.ingestSecret) }] },
        limits: {
          maxConnections: city.gateways.length * 2 + 50,
          connectsPerSecondPerAddress: 100_000,
          maxOfflineMessages: 1_000_000,
          drainTimeoutMs: 5000,
        },
        persistence: { type: 'redis', url: this.redis.url },
      }),
    );
    this.broker = ManagedProcess.node(
      'broker',
      join(REPO_ROOT, 'broker/src/cli.ts'),
      ['--config', brokerFile],
      join(this.logDir, 'broker.log'),
      REPO_ROOT,
    );
    await this.startBroker();
    this.proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: this.brokerPort });
    // The observer's journal (JSON lines) is the evidence for any loss found: what was published, and when stored.
    this.observer = await startObserver({ url: this.mqttUrl, clientId: 'loss-observer', journal: join(dir, 'observed.jsonl') });

    const ingestFile = join(dir, 'ingest.yaml');
    writeFileSync(
      ingestFile,
      stringify({
        mqtt: { url: this.mqttUrl, username: 'ingest', password: this.ingestSecret, clientId: 'ingest-1' },
        store: this.storeConfig(),
        city: this.cityFile,
        limitsDir: join(REPO_ROOT, 'config/limits'),
        live: { enabled: true, chunk: this.opts.liveChunk ?? 500 },
      }),
    );
    this.ingest = ManagedProcess.node(
      'ingest',
      join(REPO_ROOT, 'ingest/src/cli.ts'),
      ['--config', ingestFile],
      join(this.logDir, 'ingest.log'),
      REPO_ROOT,
    );
    await this.startIngest();
    // As in a deployment, ingest's persistent session exists before the first gateway publishes: a reading
    // published while nobody is subscribed is not queued for anyone (the first run lost seqs 1–6 of many
    // gateways this way when ingest took longer to start than the gateways).
    await waitFor(() => this.ingestSubscribed(), { what: "ingest's persistent session in Redis", timeoutMs: 120_000, intervalMs: 250 });

    const ids = city.gateways.map((g) => g.id);
    for (let i = 0; i < ids.length; i += this.opts.gatewaysPerProcess) {
      const n = this.gatewayProcs.length;
      const proc = ManagedProcess.node(
        `gateways-${n}`,
        join(REPO_ROOT, 'bench/faults/gateway-process.ts'),
        [this.writeGatewaySpec(n, ids.slice(i, i + this.opts.gatewaysPerProcess), false)],
        join(this.logDir, `gateways-${n}.log`),
        REPO_ROOT,
      );
      this.gatewayProcs.push(proc);
      proc.start();
    }
  }

  private gatewayIdsOf = new Map<number, string[]>();
  private writeGatewaySpec(n: number, gatewayIds: string[], drainOnly: boolean): string {
    this.gatewayIdsOf.set(n, gatewayIds);
    const file = join(this.opts.dir, `gateways-${n}${drainOnly ? '-drain' : ''}.json`);
    const spec = {
      cityFile: this.cityFile,
      gatewayIds,
      mqttUrl: `mqtt://127.0.0.1:${this.proxy.port}`,
      secrets: Object.fromEntries(gatewayIds.map((id) => [id, this.secrets[id]!])),
      outboxDir: this.outboxDir,
      clockSkewMs: this.opts.clockSkewMs ?? {},
      clockOffsetFile: this.clockOffsetFile,
      drainOnly,
    };
    writeFileSync(file, JSON.stringify(spec));
    return file;
  }

  /** Gateway clocks the harness steps while the run goes on (gateway-group.ts reads the file). */
  get clockOffsetFile(): string {
    return join(this.opts.dir, 'clock-offsets.json');
  }

  /**
   * Sets gateways' clocks this far from real time, read in steps of `resolutionMs`, at once (written aside
   * and renamed: never read half-written).
   */
  setClockOffsets(offsets: Record<string, number>, resolutionMs = 1): void {
    const tmp = `${this.clockOffsetFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ offsets, resolutionMs }));
    renameSync(tmp, this.clockOffsetFile);
  }

  async startBroker(): Promise<void> {
    this.broker.start();
    await waitForPort(this.brokerPort, 'broker', 60_000);
  }

  /** Ingest is up once it has a session on the broker; its log says so, but the port check is enough to go on. */
  /** Whether the broker holds ingest's telemetry subscription (aedes-persistence-redis keeps it in `client:<id>`). */
  private ingestSubscribed(): boolean {
    const port = new URL(this.redis.url).port;
    const r = spawnSync('redis-cli', ['-p', port, 'HEXISTS', 'client:ingest-1', 'city/v1/gw/+/telemetry'], { encoding: 'utf8' });
    return r.stdout.trim() === '1';
  }

  async startIngest(): Promise<void> {
    this.ingest.start();
    await new Promise((r) => setTimeout(r, 500));
  }

  async killInflux(): Promise<void> {
    this.sampleInflux();
    await this.influx!.kill();
  }

  async restartInflux(): Promise<void> {
    const influxd = requireBinary('influxd', 'influxdb');
    const peer = spawnPeer(influxd, ['run', '-config', join(this.influx!.dir, 'influxdb.conf')]);
    this.influx = { ...peer, url: this.influx!.url, dir: this.influx!.dir, port: this.influx!.port } as typeof this.influx;
    await waitFor(async () => (await fetch(`${this.influx!.url}/ping`)).status === 204, {
      what: 'influxd restarted',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }

  /** SQLite: another connection holds the write lock, so ingest's writes fail with SQLITE_BUSY. */
  lockSqlite(): void {
    this.sqliteLock = new Database(this.sqlitePath);
    this.sqliteLock.exec('BEGIN IMMEDIATE');
  }

  unlockSqlite(): void {
    this.sqliteLock?.exec('ROLLBACK');
    this.sqliteLock?.close();
    this.sqliteLock = undefined;
  }

  private sampleInflux(): void {
    const pid = this.influx?.child.pid;
    if (pid) this.influxPeakKb = Math.max(this.influxPeakKb, peakRssKb(pid));
    if (pid) this.influxCpuMs = lastCpuMs(pid, this.influxCpuMs);
  }

  sample(): void {
    for (const p of [this.broker, this.ingest, ...this.gatewayProcs]) p?.sample();
    this.sampleInflux();
    const rp = this.redis?.child.pid;
    if (rp) this.redisPeakKb = Math.max(this.redisPeakKb, peakRssKb(rp));
    if (rp) this.redisCpuMs = lastCpuMs(rp, this.redisCpuMs);
  }

  /** CPU ms each service used over the whole run (every incarnation, start-up included). */
  cpuMs(): Record<string, number> {
    this.sample();
    const out: Record<string, number> = {
      ingest: this.ingest.cpuMs(),
      broker: this.broker.cpuMs(),
      gateways: [...this.gatewayProcs, ...this.retired].reduce((n, p) => n + p.cpuMs(), 0),
      redis: this.redisCpuMs,
    };
    if (this.influx) out.influxd = this.influxCpuMs;
    return out;
  }

  peakRss(): Record<string, number> {
    this.sample();
    const out: Record<string, number> = {
      broker: this.broker.peakRssMb(),
      ingest: this.ingest.peakRssMb(),
      'gateway process (max)': Math.max(...[...this.gatewayProcs, ...this.retired].map((p) => p.peakRssMb())),
      redis: Math.round(this.redisPeakKb / 1024),
      harness: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    if (this.influx) out.influxd = Math.round(this.influxPeakKb / 1024);
    return out;
  }

  /** Gateways restarted with their devices disabled, so that they only empty their outboxes. */
  async drainGateways(timeoutMs: number): Promise<boolean> {
    await Promise.all(this.gatewayProcs.map((p) => p.stop()));
    this.retired.push(...this.gatewayProcs);
    this.gatewayProcs = this.gatewayProcs.map((_, n) => {
      const proc = ManagedProcess.node(
        `gateways-${n}-drain`,
        join(REPO_ROOT, 'bench/faults/gateway-process.ts'),
        [this.writeGatewaySpec(n, this.gatewayIdsOf.get(n)!, true)],
        join(this.logDir, `gateways-${n}.log`),
        REPO_ROOT,
      );
      proc.start();
      return proc;
    });
    try {
      await waitFor(() => readOutboxDir(this.outboxDir).every((g) => g.pending.length === 0), {
        timeoutMs,
        intervalMs: 2000,
        what: 'every outbox empty',
      });
      return true;
    } catch {
      return false;
    }
  }

  async openStoreForCheck(): Promise<TimeSeriesStore> {
    this.refuser?.setRefusing(false);
    return openStore(this.storeConfig(), { readonly: true });
  }

  async close(): Promise<void> {
    this.unlockSqlite();
    await Promise.allSettled(this.gatewayProcs.map((p) => p.stop()));
    await this.observer?.close().catch(() => undefined);
    await this.ingest?.stop();
    await this.broker?.stop();
    await this.proxy?.close();
    await this.refuser?.close();
    await this.influx?.stop();
    await this.victoria?.stop();
    await this.redis?.stop();
  }
}
