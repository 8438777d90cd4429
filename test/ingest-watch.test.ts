import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import type { TimeSeriesStore } from '@tamky/protocol';
import { startIngestWithAlarms, type IngestWithAlarms } from '@tamky/ingest';
import { tempDir, waitFor } from '@tamky/test-support';
import { startFakeZalo, type FakeZalo } from '@tamky/test-support/fakes';
import { hashPassword, startDashboard, type DashboardHandle } from '@tamky/dashboard-server';
import { createAlarmsModule, type AlarmsModule } from '@tamky/dashboard-server/alarms';
import { parseNotifyPolicy } from '@tamky/dashboard-server/notify';
import { testCity } from '../ingest/test/helpers/fixtures';
import { REPO_ROOT } from '../bench/faults/city';

/**
 * Who notices when ingest is down: not ingest's own detector, which stops with it. With the real broker, ingest
 * (alarm detection on, reporting its health) and the dashboard watching it: ingest stopping raises a major system
 * alarm on the dashboard's desk that reaches the duty phone through the notification policy, and ingest coming
 * back clears it.
 */
const log = createLogger('ingest-watch-test', { level: process.env.TEST_LOG ?? 'silent' });
const dir = tempDir('ingest-watch');
const DUTY_PHONE = '84905000222';
const SILENT_AFTER_S = 3;
let dashboardStartedAt = 0;
let broker: BrokerHandle;
let zalo: FakeZalo;
let dashboard: DashboardHandle | undefined;
let alarms: AlarmsModule;
let store: TimeSeriesStore;
let ingest: IngestWithAlarms | undefined;
let url: string;

const silentAlarm = () => alarms.store.list({}).find((a) => a.ruleId === 'service-silent' && a.sourceId === 'ingest-1.reports');

async function startIngest(): Promise<IngestWithAlarms> {
  return startIngestWithAlarms(
    {
      mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-1' },
      store: { type: 'sqlite', path: join(dir, 'readings.db') },
      limitsDir: join(REPO_ROOT, 'config/limits'),
      registry: { follow: false, startWaitMs: 0 },
      alarms: { enabled: true, rulesFile: join(REPO_ROOT, 'config/rules/default.yaml') },
      selfWatch: { intervalMs: 200 },
    },
    { store, city: testCity(), logger: log },
  );
}

beforeAll(async () => {
  const hash = (s: string) => hashSecret(s, { N: 1024 });
  broker = await startBroker(
    {
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [],
        services: [
          { username: 'ingest', role: 'ingest', secretHash: await hash('ingest-secret') },
          { username: 'dashboard', role: 'dashboard', secretHash: await hash('dashboard-secret') },
        ],
      },
    },
    { logger: log },
  );
  url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') }, { logger: log });
  zalo = await startFakeZalo();
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
  alarms = createAlarmsModule({
    rulesFile: join(REPO_ROOT, 'config/rules/default.yaml'),
    notify: policy,
    tickMs: 200,
    watchServices: { services: ['ingest-1'], silentAfterS: SILENT_AFTER_S },
  });
  // Ingest first: the dashboard's watch starts counting at its own start.
  ingest = await startIngest();
  dashboard = await startDashboard(
    {
      http: { host: '127.0.0.1', port: 0, publicUrl: 'https://ioc.tamky.gov.vn' },
      mqtt: { url, username: 'dashboard', password: 'dashboard-secret', clientId: 'dashboard-1' },
      stateDb: join(dir, 'state.db'),
      users: [{ username: 'admin', displayName: 'Admin', role: 'admin', passwordHash: await hashPassword('admin-password-1') }],
      limitsDir: join(REPO_ROOT, 'config/limits'),
    },
    { store, city: testCity(), logger: log, modules: [alarms] },
  );
  dashboardStartedAt = Date.now();
});

afterAll(async () => {
  await ingest?.close();
  await dashboard?.close();
  await store?.close();
  await broker?.close();
  await zalo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard watches ingest', () => {
  it('ingest stopping raises a major system alarm that reaches the duty phone; ingest back clears it', async () => {
    // Reporting: past the silence limit with no alarm.
    await waitFor(() => Date.now() - dashboardStartedAt > (SILENT_AFTER_S + 1) * 1000, {
      what: 'the silence limit passed since the dashboard started',
    });
    expect(silentAlarm()).toBeUndefined();

    await ingest!.close();
    ingest = undefined;
    const raised = await waitFor(() => (silentAlarm()?.state === 'active' ? silentAlarm() : undefined), {
      timeoutMs: 20_000,
      what: 'the service-silent alarm raised',
    });
    expect(raised).toMatchObject({ severity: 'major', category: 'system', limit: SILENT_AFTER_S });
    expect(raised!.message.en).toMatch(/^ingest-1: no report for \d+ s \(down or hung\); readings may not be stored/);
    await waitFor(
      () => zalo.messages.find((m) => m.phone === DUTY_PHONE && m.templateData.message!.startsWith('ingest-1: không báo cáo')),
      { what: 'the duty phone told by Zalo that ingest is silent' },
    );

    ingest = await startIngest();
    await waitFor(() => silentAlarm()?.state === 'cleared' || undefined, {
      timeoutMs: 20_000,
      what: 'the alarm cleared by the next report',
    });
  });
});
