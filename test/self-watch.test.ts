import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmEventSchema, filters, topics, type AlarmEvent, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngestWithAlarms, type IngestWithAlarms } from '@tamky/ingest';
import { tempDir, waitFor } from '@tamky/test-support';
import { startFakeZalo, type FakeZalo } from '@tamky/test-support/fakes';
import { hashPassword, startDashboard, type DashboardHandle } from '@tamky/dashboard-server';
import { gatewayConfigSchema, startGateway, type Gateway } from '@tamky/edge';
import { createAlarmsModule } from '@tamky/dashboard-server/alarms';
import { parseNotifyPolicy } from '@tamky/dashboard-server/notify';
import { airBatch, testCity } from '../ingest/test/helpers/fixtures';
import { REPO_ROOT } from '../bench/faults/city';

/**
 * The system watching itself, with the real parts: the broker (its report on system/broker/health), ingest with
 * alarm detection on an SQLite store on a small file system of its own (tmpfs; needs root, as CI runs), and the
 * dashboard (its state DB on another small volume, its report on system/dashboard/health) whose alarm desk
 * records the alarms and whose notification policy tells the duty phone through a local Zalo peer. Each system
 * alarm is raised by making its condition real, and clears itself once the condition is gone.
 */
const log = createLogger('self-watch-test', { level: process.env.TEST_LOG ?? 'silent' });
const dir = tempDir('self-watch');
const volume = join(dir, 'volume');
const certDir = join(dir, 'certs');
const stateVolume = join(dir, 'state');
const gatewayVolume = join(dir, 'gateway');
const DUTY_PHONE = '84905000111';
const mounted: string[] = [];
let dashboard: DashboardHandle | undefined;
let gateway: Gateway | undefined;
let zalo: FakeZalo;
let broker: BrokerHandle;
let store: TimeSeriesStore;
let ingest: IngestWithAlarms | undefined;
let watcher: MqttClient;
let url: string;
const events: AlarmEvent[] = [];
const clients: MqttClient[] = [];
/** Closed while a test holds the store's writes (ingest then holds the acks). */
let gate: Promise<void> | undefined;

const RULES = `
rules:
  - { id: disk, type: system, check: disk_used_percent, category: system, severity: warning, op: '>=', value: 95, clearValue: 80, repeatEveryS: 1, services: [ingest-1] }
  - { id: state-disk, type: system, check: disk_used_percent, category: system, severity: major, op: '>=', value: 80, clearValue: 70, repeatEveryS: 1, services: [dashboard] }
  - { id: refusing, type: system, check: store_write_failing_s, category: system, severity: major, op: '>=', value: 1, repeatEveryS: 1 }
  - { id: lag, type: system, check: ingest_lag_s, category: system, severity: warning, op: '>=', value: 2, clearValue: 1, repeatEveryS: 1 }
  - { id: conns, type: system, check: broker_connections_percent, category: system, severity: warning, op: '>=', value: 70, clearValue: 50, repeatEveryS: 1 }
  - { id: queue, type: system, check: session_queue, category: system, severity: warning, op: '>=', value: 20, clearValue: 5, repeatEveryS: 1 }
  - { id: cert, type: system, check: cert_days_left, category: system, severity: major, op: '<=', value: 7, repeatEveryS: 1 }
  - { id: gw-disk-80, type: gateway_disk, category: equipment, severity: warning, usedPercent: 80, repeatEveryS: 1 }
  - { id: gw-disk-90, type: gateway_disk, category: equipment, severity: major, usedPercent: 90, repeatEveryS: 1 }
`;

function makeCert(file: string, days: number): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${file}.key`,
      '-out',
      file,
      '-days',
      String(days),
      '-subj',
      '/CN=gw-a',
    ],
    { stdio: 'ignore' },
  );
  rmSync(`${file}.key`);
}

/** Writes a file that leaves `volume` about `usedPercent` full. */
function fillTo(volume: string, name: string, usedPercent: number): void {
  const fs = statfsSync(volume);
  writeFileSync(join(volume, name), Buffer.alloc(Math.max(0, Math.floor((fs.bavail - (1 - usedPercent / 100) * fs.blocks) * fs.bsize)), 1));
}

/** The first event of (rule, source, state) after `from` (an index into events). */
function waitEvent(ruleId: string, sourceId: string, state: AlarmEvent['state'], from: number, timeoutMs = 20_000): Promise<AlarmEvent> {
  return waitFor(() => events.slice(from).find((e) => e.ruleId === ruleId && e.sourceId === sourceId && e.state === state), {
    timeoutMs,
    what: `${ruleId} ${state} for ${sourceId}`,
  });
}

const connect = async (opts: mqtt.IClientOptions) => {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...opts });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  for (const v of [volume, stateVolume, gatewayVolume]) {
    mkdirSync(v);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', v]);
    mounted.push(v);
  }
  mkdirSync(certDir);
  makeCert(join(certDir, 'short.crt'), 5);
  const hash = (s: string) => hashSecret(s, { N: 1024 });
  broker = await startBroker(
    {
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [{ id: 'gw-a', secretHash: await hash('gw-a-secret') }],
        services: [
          { username: 'ingest', role: 'ingest', secretHash: await hash('ingest-secret') },
          { username: 'dashboard', role: 'dashboard', secretHash: await hash('dashboard-secret') },
        ],
      },
      limits: { maxConnections: 10 },
      selfWatch: { intervalMs: 200, certificates: [certDir] },
    },
    { logger: log },
  );
  url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  watcher = await mqtt.connectAsync(url, {
    username: 'dashboard',
    password: 'dashboard-secret',
    clientId: 'dashboard-watch',
    reconnectPeriod: 0,
  });
  watcher.on('message', (_topic, payload) => events.push(alarmEventSchema.parse(JSON.parse(payload.toString()))));
  await watcher.subscribeAsync(filters.allAlarms, { qos: 1 });

  const path = join(volume, 'readings.db');
  const sqlite = await openStore({ type: 'sqlite', path }, { logger: log });
  // The SQLite store as it is, except that a test may hold its writes.
  store = new Proxy(sqlite, {
    get(target, prop) {
      if (prop === 'writeBatch')
        return async (...args: Parameters<TimeSeriesStore['writeBatch']>) => {
          await gate;
          return target.writeBatch(...args);
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, RULES);
  zalo = await startFakeZalo();
  // Major alarms to the duty phone by Zalo, as deploy/config/notify-policy.yaml routes them.
  const policy = parseNotifyPolicy({
    senderName: 'IOC Tam Ky',
    recipients: [{ id: 'duty', name: 'Trực ban', phone: DUTY_PHONE, channels: ['zalo'] }],
    routes: [{ id: 'duty', match: { severities: ['critical', 'major'] }, steps: [{ to: ['duty'] }], notifyClear: true }],
    grouping: { windowS: 0 },
    providers: {
      zalo: {
        sendUrl: `${zalo.url}/message/template`,
        tokenUrl: `${zalo.url}/v4/oa/access_token`,
        appId: zalo.appId,
        secretKey: zalo.secretKey,
        refreshToken: 'refresh-0',
        templateId: 'tpl-alarm',
      },
    },
  });
  dashboard = await startDashboard(
    {
      http: { host: '127.0.0.1', port: 0, publicUrl: 'https://ioc.tamky.gov.vn' },
      mqtt: { url, username: 'dashboard', password: 'dashboard-secret', clientId: 'dashboard-1' },
      stateDb: join(stateVolume, 'state.db'),
      selfWatchMs: 200,
      users: [{ username: 'admin', displayName: 'Admin', role: 'admin', passwordHash: await hashPassword('admin-password-1') }],
      limitsDir: join(REPO_ROOT, 'config/limits'),
    },
    { store: sqlite, city: testCity(), logger: log, modules: [createAlarmsModule({ rulesFile, notify: policy, tickMs: 200 })] },
  );
  ingest = await startIngestWithAlarms(
    {
      mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-1' },
      store: { type: 'sqlite', path },
      limitsDir: join(REPO_ROOT, 'config/limits'),
      registry: { follow: false, startWaitMs: 0 },
      backpressure: { retryBaseMs: 50, retryMaxMs: 200 },
      alarms: { enabled: true, rulesFile },
      selfWatch: { intervalMs: 200 },
    },
    { store, city: testCity(), logger: log },
  );
});

afterAll(async () => {
  for (const c of clients) await c.endAsync(true);
  await gateway?.close();
  await ingest?.close();
  await dashboard?.close();
  await store?.close();
  await watcher?.endAsync();
  await broker?.close();
  await zalo?.close();
  for (const v of mounted) execFileSync('umount', ['-l', v]);
  rmSync(dir, { recursive: true, force: true });
});

describe('the system watches itself', () => {
  it('a certificate close to expiry raises an alarm, and a renewed one clears it', async () => {
    const raised = await waitEvent('cert', 'broker.short.crt', 'raised', 0);
    expect(raised).toMatchObject({ severity: 'major', category: 'system', value: 4, limit: 7 });
    expect(raised.message.en).toMatch(/^Certificate gw-a \(short\.crt\) expires on \d{4}-\d\d-\d\d, 4 days left$/);
    const from = events.length;
    makeCert(join(certDir, 'short.crt'), 400);
    await waitEvent('cert', 'broker.short.crt', 'cleared', from);
  });

  it('broker connections near maxConnections raise an alarm that clears when they close', async () => {
    const from = events.length;
    // ingest (2 connections), the dashboard and the watcher are connected: three more make 7 of 10.
    const extra = [];
    for (let i = 0; i < 3; i++)
      extra.push(await connect({ username: 'dashboard', password: 'dashboard-secret', clientId: `dashboard-x${i}` }));
    const raised = await waitEvent('conns', 'broker.connections', 'raised', from);
    expect(raised.message.en).toBe('broker: 7 of 10 connections (70%, limit 70%)');
    const cleared = events.length;
    for (const c of extra) await c.endAsync();
    await waitEvent('conns', 'broker.connections', 'cleared', cleared);
  });

  it("an offline session's queue growing in the broker raises an alarm that clears once it drains", async () => {
    const gwOpts = { username: 'gw-a', password: 'gw-a-secret', clientId: 'gw-a', clean: false } as const;
    const gw = await connect(gwOpts);
    await gw.subscribeAsync(topics.command('gw-a'), { qos: 1 });
    await gw.endAsync();
    const from = events.length;
    const dashboard = await connect({ username: 'dashboard', password: 'dashboard-secret', clientId: 'dashboard-cmd' });
    for (let i = 0; i < 30; i++)
      await dashboard.publishAsync(topics.command('gw-a'), JSON.stringify({ id: `c${i}`, type: 'read_now' }), { qos: 1 });
    const raised = await waitEvent('queue', 'broker.gw-a', 'raised', from);
    // Raised by the first report at or past 20 (the commands may still be arriving).
    expect(raised.value).toBeGreaterThanOrEqual(20);
    expect(raised.value).toBeLessThanOrEqual(30);
    expect(raised.message.en).toBe(`broker: offline session gw-a has ${raised.value} queued messages (limit 20)`);
    const cleared = events.length;
    let received = 0;
    // The gateway comes back: its handler is in place before the queue arrives.
    const back = mqtt.connect(url, { ...gwOpts, reconnectPeriod: 0 });
    clients.push(back);
    back.on('message', () => received++);
    await waitFor(() => received >= 30, { what: 'the queued commands delivered' });
    await waitEvent('queue', 'broker.gw-a', 'cleared', cleared);
    await back.endAsync();
  });

  it('ingest holding acks (a store that does not answer) raises the lag alarm, cleared once it writes', async () => {
    const gw = await connect({ username: 'gw-a', password: 'gw-a-secret', clientId: 'gw-a:lag' });
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const from = events.length;
    await gw.publishAsync(topics.telemetry('gw-a'), JSON.stringify(airBatch('gw-a', 'gw-a-air', 1, 5, Date.now() - 10_000)), { qos: 1 });
    const raised = await waitEvent('lag', 'ingest-1.acks', 'raised', from);
    expect(raised.value).toBeGreaterThanOrEqual(2);
    const cleared = events.length;
    open();
    gate = undefined;
    await waitEvent('lag', 'ingest-1.acks', 'cleared', cleared);
    expect((await store.sequences('gw-a')).filter((s) => s >= 0)).toEqual([1, 2, 3, 4, 5]);
    await gw.endAsync();
  });

  it('a full store volume raises the disk alarm; refused writes raise theirs; both clear when space returns and nothing accepted is lost', async () => {
    const from = events.length;
    const filler = join(volume, 'filler');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) writeFileSync(filler, chunk, { flag: 'a' });
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const disk = await waitEvent('disk', 'ingest-1.store', 'raised', from);
    expect(disk.value).toBeGreaterThanOrEqual(95);
    expect(disk.message.en).toMatch(/^ingest-1: disk .*readings\.db (100|9\d(\.\d)?)% used \(limit 95%\), 0 MB free$/);

    // Readings arrive while the disk is full: the store refuses them, ingest holds them (and leaves the broker).
    const gw = await connect({ username: 'gw-a', password: 'gw-a-secret', clientId: 'gw-a:full', clean: false, reconnectPeriod: 200 });
    let seq = 100;
    for (let i = 0; i < 5; i++) {
      await gw.publishAsync(topics.telemetry('gw-a'), JSON.stringify(airBatch('gw-a', 'gw-a-air', seq, 400, Date.now() - 3_600_000)), {
        qos: 1,
      });
      seq += 400;
    }
    const refusing = await waitEvent('refusing', 'ingest-1.store', 'raised', from, 30_000);
    expect(refusing.message.en).toMatch(/^ingest-1: the store has refused writes for \d+ s \(.+\); readings wait in the broker$/);
    // The alarm desk recorded it and the notification policy told the duty phone.
    const told = await waitFor(
      () => zalo.messages.find((m) => m.phone === DUTY_PHONE && m.templateData.message!.includes('kho dữ liệu từ chối ghi')),
      {
        what: 'the duty phone told of the refused writes by Zalo',
      },
    );
    expect(told.templateData.severity).toBe('major');

    const back = events.length;
    rmSync(filler);
    await waitEvent('refusing', 'ingest-1.store', 'cleared', back, 30_000);
    await waitEvent('disk', 'ingest-1.store', 'cleared', back);
    const expected = Array.from({ length: seq - 100 }, (_, i) => 100 + i);
    await waitFor(async () => (await store.sequences('gw-a')).filter((s) => s >= 100).length === expected.length, {
      timeoutMs: 30_000,
      what: 'every reading accepted while the disk was full stored once space returned',
    });
    expect((await store.sequences('gw-a')).filter((s) => s >= 100)).toEqual(expected);
  });

  it("the dashboard's own disk (its state DB) filling up raises an alarm that reaches the duty phone, and clears", async () => {
    const from = events.length;
    // Fill the state DB's volume to about 90 % (not full: the dashboard still records the alarm).
    fillTo(stateVolume, 'filler', 90);
    const raised = await waitEvent('state-disk', 'dashboard.state-db', 'raised', from);
    expect(raised.message.en).toMatch(/^dashboard: disk .*state\.db \d+(\.\d)?% used \(limit 80%\), \d+ MB free$/);
    await waitFor(() => zalo.messages.find((m) => m.phone === DUTY_PHONE && m.templateData.message!.startsWith('dashboard: ổ đĩa')), {
      what: 'the duty phone told of the dashboard disk by Zalo',
    });
    const cleared = events.length;
    rmSync(join(stateVolume, 'filler'));
    await waitEvent('state-disk', 'dashboard.state-db', 'cleared', cleared);
  });

  it("a gateway's own disk filling: a warning on the desk at 80 %, a major at 90 % that reaches the duty phone; both clear", async () => {
    // A real gateway, its outbox on a small volume of its own, reporting health as in the field.
    gateway = await startGateway(
      gatewayConfigSchema.parse({
        gatewayId: 'gw-a',
        mqtt: { url, username: 'gw-a', password: 'gw-a-secret' },
        outbox: { path: join(gatewayVolume, 'outbox.db') },
        health: { intervalMs: 1000 },
        buses: [],
        devices: [],
      }),
      { logger: log },
    );
    const from = events.length;
    fillTo(gatewayVolume, 'filler-1', 85);
    const warning = await waitEvent('gw-disk-80', 'gw-a', 'raised', from);
    expect(warning).toMatchObject({ severity: 'warning', category: 'equipment', gateway: 'gw-a', limit: 80 });
    expect(warning.value).toBeGreaterThanOrEqual(80);
    expect(warning.value).toBeLessThan(90);
    expect(warning.message.en).toMatch(/: disk \d+(\.\d)?% used \(limit 80%\), \d+ MB free$/);

    fillTo(gatewayVolume, 'filler-2', 95);
    const major = await waitEvent('gw-disk-90', 'gw-a', 'raised', from);
    expect(major).toMatchObject({ severity: 'major', gateway: 'gw-a', limit: 90 });
    // The policy sends majors to the duty phone; the warning stays on the desk (it must not cry wolf at night).
    const told = await waitFor(
      () => zalo.messages.find((m) => m.phone === DUTY_PHONE && /ổ đĩa đã dùng/.test(m.templateData.message ?? '')),
      {
        what: 'the duty phone told of the gateway disk by Zalo',
      },
    );
    expect(told.templateData.severity).toBe('major');
    expect(zalo.messages.filter((m) => /ổ đĩa đã dùng/.test(m.templateData.message ?? ''))).toHaveLength(1);
    // Both are open on the alarm desk, on the gateway.
    const signIn = await fetch(`${dashboard!.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'admin-password-1' }),
    });
    expect(signIn.status).toBe(200);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const desk = async () => {
      const res = await fetch(`${dashboard!.url}/api/alarms?state=open`, { headers: { cookie } });
      const body = (await res.json()) as { alarms: Array<{ ruleId: string; gateway: string | null; severity: string }> };
      return body.alarms
        .filter((a) => a.gateway === 'gw-a' && a.ruleId.startsWith('gw-disk'))
        .map((a) => `${a.ruleId}:${a.severity}`)
        .sort();
    };
    await expect.poll(desk).toEqual(['gw-disk-80:warning', 'gw-disk-90:major']);

    const back = events.length;
    rmSync(join(gatewayVolume, 'filler-1'));
    rmSync(join(gatewayVolume, 'filler-2'));
    await waitEvent('gw-disk-90', 'gw-a', 'cleared', back);
    await waitEvent('gw-disk-80', 'gw-a', 'cleared', back);
    await expect.poll(desk).toEqual([]);
    await gateway.close();
    gateway = undefined;
  });
});
