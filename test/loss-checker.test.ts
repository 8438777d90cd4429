import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CityModel } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { tempDir, waitFor } from '@tamky/test-support';
import { faultCity, REPO_ROOT } from '../bench/faults/city';
import { startGatewayGroup } from '../bench/faults/gateway-group';
import { checkLoss, summaryLine, type LossReport } from '../bench/faults/loss-checker';
import { startObserver, type Observer } from '../bench/faults/observer';
import { readOutboxDir } from '../bench/faults/outbox-seqs';

/**
 * A small real composition (in-process broker, ingest, SQLite store, three real edge gateways polling
 * simulated Modbus devices) proves the loss checker reports a clean run as clean, and that it fails when a
 * stored reading is deleted or a stored value changed behind the system's back.
 */
const log = createLogger('loss-checker-test', { level: 'warn' });
const dir = tempDir('loss-checker');
const dbPath = join(dir, 'readings.db');
const outboxDir = join(dir, 'outbox');
const journal = join(dir, 'observed.jsonl');
const storeFile = join(dir, 'store.json');

let city: CityModel;
let broker: BrokerHandle;
let ingest: IngestHandle | undefined;
let observer: Observer;
let clean: LossReport;

beforeAll(async () => {
  city = faultCity({ gateways: 3, devicesPerGateway: 4, pollIntervalMs: 300 });
  const secrets = Object.fromEntries(city.gateways.map((g) => [g.id, `${g.id}-secret`]));
  // Cheap scrypt parameters: the test is about the checker, not about password hashing cost.
  const hash = (s: string) => hashSecret(s, { N: 1024 });
  broker = await startBroker(
    {
      profile: 'development',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: await Promise.all(city.gateways.map(async (g) => ({ id: g.id, secretHash: await hash(secrets[g.id]!) }))),
        services: [{ username: 'ingest', role: 'ingest', secretHash: await hash('ingest-secret') }],
      },
    },
    { logger: log },
  );
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  observer = await startObserver({ url, journal, clientId: 'loss-observer-test' });
  const store = await openStore({ type: 'sqlite', path: dbPath }, { logger: log });
  ingest = await startIngest(
    { mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-test' }, limitsDir: join(REPO_ROOT, 'config/limits') },
    { store, city, logger: log },
  );

  const group = await startGatewayGroup({
    city,
    gatewayIds: city.gateways.map((g) => g.id),
    mqttUrl: url,
    secrets,
    outboxDir,
    logger: log,
  });
  await waitFor(() => readOutboxDir(outboxDir).every((g) => g.lastSeq >= 8), {
    timeoutMs: 30_000,
    what: 'every gateway to produce 8 readings',
  });
  await group.close();

  const produced = readOutboxDir(outboxDir);
  await waitFor(
    async () => {
      clean = await checkLoss({ store, produced, observed: observer.record });
      return clean.missing === 0 && clean.unobserved === 0 && clean.delay.n === clean.stored;
    },
    { timeoutMs: 20_000, what: 'every produced reading stored, observed and seen on the live feed' },
  );
  await ingest.close();
  ingest = undefined;
  await store.close();
  await observer.close();
  writeFileSync(storeFile, JSON.stringify({ type: 'sqlite', path: dbPath }));
});

afterAll(async () => {
  await ingest?.close();
  await broker?.close();
});

const runCli = () =>
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'bench/faults/loss-checker.ts'),
      'check',
      '--store',
      storeFile,
      '--outbox-dir',
      outboxDir,
      '--observed',
      journal,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 },
  );

const recheck = async () => {
  const store = await openStore({ type: 'sqlite', path: dbPath }, { readonly: true });
  try {
    return await checkLoss({ store, produced: readOutboxDir(outboxDir), observed: observer.record });
  } finally {
    await store.close();
  }
};

describe('loss checker', () => {
  it('reports a clean run as clean: every produced reading stored once, unaltered, with its delay', () => {
    expect(clean.examples.altered).toEqual([]);
    expect(clean.produced).toBeGreaterThanOrEqual(24);
    expect(clean.stored + clean.pending).toBe(clean.produced);
    expect(clean).toMatchObject({ missing: 0, duplicated: 0, altered: 0, rejected: 0, edgeDropped: 0, inconsistentCopies: 0, ok: true });
    expect(clean.delay.n).toBe(clean.stored);
    expect(clean.delay.p50).toBeGreaterThanOrEqual(0);
    expect(clean.delay.max).toBeGreaterThanOrEqual(clean.delay.p99);
    expect(summaryLine(clean)).toMatch(
      /^loss-check: produced=\d+ stored=\d+ missing=0 duplicated=0 altered=0 delay_p50=\S+ p99=\S+ max=\S+/,
    );
  });

  it('the CLI agrees on a clean run and exits 0', () => {
    const res = runCli();
    expect(res.stderr).not.toMatch(/Error/);
    expect(res.stdout).toMatch(
      new RegExp(`^loss-check: produced=${clean.produced} stored=${clean.stored} missing=0 duplicated=0 altered=0 `),
    );
    expect(res.status).toBe(0);
  });

  it('detects a deleted row, an altered value and a reading stored twice (SQLite file edited directly) and the CLI exits non-zero', async () => {
    const gw = city.gateways[1]!.id;
    const db = new Database(dbPath);
    const del = db.prepare('DELETE FROM reading WHERE gateway = ? AND seq = 3').run(gw);
    expect(del.changes).toBe(1);
    const row = db.prepare('SELECT rowid AS id, vals FROM reading WHERE gateway = ? AND seq = 5').get(gw) as { id: number; vals: string };
    const vals = JSON.parse(row.vals) as Record<string, number>;
    const field = Object.keys(vals)[0]!;
    vals[field] = vals[field]! + 1.5;
    db.prepare('UPDATE reading SET vals = ? WHERE rowid = ?').run(JSON.stringify(vals), row.id);
    // The same (gateway, seq) stored a second time. The store keys a reading by (kind, device, gateway, seq), so a
    // re-stamped resend overwrites; a second copy can only sit under another device.
    db.prepare(
      "INSERT INTO reading (kind, device, ts, gateway, ward, seq, vals) SELECT kind, device || '-copy', ts + 1, gateway, ward, seq, vals FROM reading WHERE gateway = ? AND seq = 7",
    ).run(gw);
    db.prepare(
      "INSERT INTO gateway_device (gateway, kind, device) SELECT gateway, kind, device || '-copy' FROM reading WHERE gateway = ? AND seq = 7 AND device NOT LIKE '%-copy'",
    ).run(gw);
    db.close();

    const r = await recheck();
    expect(r).toMatchObject({ missing: 1, altered: 1, duplicated: 1, ok: false });
    expect(r.examples.missing).toEqual([`${gw}#3`]);
    expect(r.examples.altered[0]).toContain(`${gw}#5`);
    expect(r.examples.altered[0]).toContain(field);
    expect(r.examples.duplicated).toEqual([`${gw}#7×2`]);

    const res = runCli();
    expect(res.stdout).toMatch(/missing=1 duplicated=1 altered=1 /);
    expect(res.stderr).toContain(`${gw}#3`);
    expect(res.status).toBe(1);
  });
});
