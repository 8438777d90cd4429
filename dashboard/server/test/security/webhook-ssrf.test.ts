import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import { topics, type AlarmEvent } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { createAlarmsModule } from '../../src/alarms';
import { parseNotifyPolicy } from '../../src/notify';
import { createWebhookChannel, WEBHOOK_NOT_DELIVERED } from '../../src/notify/channels/webhook';
import { json, listen, readBody } from '../fakes/http';
import { api, login, mqttClient, startHarness, type Harness, type Session } from '../helpers';

/**
 * M3 of issue #14: webhook recipients were an SSRF primitive: loopback, link-local (cloud metadata) and
 * file:// targets accepted, redirects followed, and the error of each attempt shown to viewers on the alarm
 * page (open port → "HTTP 404", closed → "fetch failed": a port scanner). Real dashboard, real mosquitto,
 * real receivers on loopback.
 */
type Hit = { path: string; body: string };
const hits: Hit[] = [];
let receiver: Awaited<ReturnType<typeof listen>>;
let closedPort: number;
let h: Harness;
let admin: Session;
let viewer: Session;
let mq: MqttClient;

beforeAll(async () => {
  receiver = await listen(async (req, res) => {
    hits.push({ path: req.url ?? '', body: await readBody(req) });
    json(res, 404, { error: 'nothing here' });
  });
  const probe = await listen(() => undefined);
  closedPort = Number(new URL(probe.url).port);
  await probe.close();
  const port = new URL(receiver.url).port;
  // `localhost` passes the URL check (a name, not an address); it resolves to loopback, refused at connect.
  const policy = parseNotifyPolicy({
    locale: 'en',
    recipients: [
      { id: 'hook-open', name: 'Open port', webhookUrl: `http://localhost:${port}/hook`, channels: ['webhook'] },
      { id: 'hook-closed', name: 'Closed port', webhookUrl: `http://localhost:${closedPort}/hook`, channels: ['webhook'] },
    ],
    routes: [{ id: 'all', steps: [{ to: ['hook-open', 'hook-closed'] }] }],
    grouping: { windowS: 0 },
    providers: { webhook: { secret: 'hook-secret', allowHttp: true } },
  });
  h = await startHarness({ modules: [createAlarmsModule({ notify: policy, tickMs: 100 })] });
  admin = await login(h.url, 'admin');
  viewer = await login(h.url, 'viewer');
  mq = await mqttClient(h.mqttUrl);
});
afterAll(async () => {
  await mq?.endAsync();
  await h?.close();
  await receiver?.close();
});

describe('recipients an admin saves', () => {
  const TARGETS = [
    'http://127.0.0.1:6379/',
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'file:///etc/passwd',
    'https://10.0.0.1/hook',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'https://user:pass@hooks.example.vn/hook',
    'gopher://hooks.example.vn/',
  ];

  it.each(TARGETS)('refuses %s with the reason next to the field', async (url) => {
    const cur = (await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()) as {
      version: number;
      recipients: Array<Record<string, unknown>>;
      groups: unknown[];
      routes: unknown[];
    };
    const recipients = cur.recipients.map((r) => (r.id === 'hook-open' ? { ...r, webhookUrl: url } : r));
    const res = await api(h.url, admin, 'PUT', '/api/admin/recipients', {
      baseVersion: cur.version,
      recipients,
      groups: cur.groups,
      routes: cur.routes,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: Array<{ path: string; message: string }> };
    expect(body.issues.some((i) => i.path === 'recipients.0.webhookUrl')).toBe(true);
  });

  it('https only unless the policy allows http; allow-listed hosts only when a list is given', () => {
    const base = {
      recipients: [{ id: 'x', name: 'X', webhookUrl: 'http://hooks.example.vn/a', channels: ['webhook' as const] }],
      routes: [{ id: 'r', steps: [{ to: ['x'] }] }],
    };
    expect(() => parseNotifyPolicy({ ...base, providers: { webhook: {} } })).toThrow(/https/);
    expect(() =>
      parseNotifyPolicy({
        ...base,
        recipients: [{ ...base.recipients[0]!, webhookUrl: 'https://evil.example.com/a' }],
        providers: { webhook: { allowHosts: ['hooks.example.vn', '*.tamky.gov.vn'] } },
      }),
    ).toThrow(/allowHosts/);
    expect(
      parseNotifyPolicy({
        ...base,
        recipients: [{ ...base.recipients[0]!, webhookUrl: 'https://ops.tamky.gov.vn/a' }],
        providers: { webhook: { allowHosts: ['hooks.example.vn', '*.tamky.gov.vn'] } },
      }).recipients,
    ).toHaveLength(1);
  });
});

describe('sending', () => {
  it('never connects to a name that resolves to loopback, and tells viewers the same thing for an open and a closed port', async () => {
    const event: AlarmEvent = {
      ruleId: 'flood-level',
      sourceId: 'an-phu-water-1',
      state: 'raised',
      severity: 'critical',
      category: 'water',
      ward: 'an-phu',
      value: 3.2,
      limit: 3,
      since: Date.now(),
      ts: Date.now(),
      message: { vi: 'Ngập', en: 'Flood' },
    };
    await mq.publishAsync(topics.alarmEvent(event.ruleId, event.sourceId), JSON.stringify(event), { qos: 1 });
    type View = { notifications: Array<{ recipient: string; state: string; error: string | null }> };
    const view = await waitFor(
      async () => {
        const list = (await (await api(h.url, viewer, 'GET', '/api/alarms?state=open')).json()) as { alarms: Array<{ id: number }> };
        if (!list.alarms[0]) return undefined;
        const v = (await (await api(h.url, viewer, 'GET', `/api/alarms/${list.alarms[0].id}`)).json()) as View;
        return v.notifications.length === 2 && v.notifications.every((n) => n.state === 'failed') ? v : undefined;
      },
      { what: 'both webhook notifications given up', timeoutMs: 30_000 },
    );
    expect(hits).toEqual([]);
    expect(view.notifications.map((n) => n.error)).toEqual([WEBHOOK_NOT_DELIVERED, WEBHOOK_NOT_DELIVERED]);
  });
});

describe('the channel itself (real sockets on loopback)', () => {
  /** A receiver on one loopback address; 127.0.0.2 plays "the allowed LAN receiver", 127.0.0.1 "the internal service". */
  async function receiverOn(
    host: string,
    port = 0,
    answer: () => { status: number; headers?: Record<string, string> } = () => ({ status: 200 }),
  ) {
    const seen: string[] = [];
    const server = createHttpServer(async (req, res) => {
      seen.push(req.url ?? '');
      await readBody(req);
      const a = answer();
      res.writeHead(a.status, a.headers).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      seen,
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }
  const message = { to: '', subject: 's', text: 't', idempotencyKey: 'k', alarmIds: [1], templateData: {} };
  const cfg = { allowHosts: [], allowHttp: true, allowNetworks: ['127.0.0.2/32'], timeoutMs: 5000 };

  it('connects to the address it checked: a name that rebinds to an internal address later is refused, never reached', async () => {
    // The same port on both addresses (127.0.0.2 is all but unused, so the port picked on 127.0.0.1 is free there).
    const internal = await receiverOn('127.0.0.1');
    const allowed = await receiverOn('127.0.0.2', internal.port);
    try {
      const answers = ['127.0.0.2', '127.0.0.1', '127.0.0.1'];
      let lookups = 0;
      const channel = createWebhookChannel(cfg, undefined, async () => [
        { address: answers[Math.min(lookups++, answers.length - 1)]!, family: 4 },
      ]);
      const first = await channel.send({ ...message, to: `http://hooks.rebind.test:${allowed.port}/a` });
      expect(first.status).toBe('accepted');
      expect(lookups).toBe(1);
      expect(allowed.seen).toEqual(['/a']);
      const second = await channel.send({ ...message, to: `http://hooks.rebind.test:${allowed.port}/b` });
      expect(second).toEqual({ status: 'permanent', error: WEBHOOK_NOT_DELIVERED });
      expect(internal.seen).toEqual([]);
    } finally {
      await allowed.close();
      await internal.close();
    }
  });

  it('does not follow redirects (to an internal address or anywhere)', async () => {
    const internal = await receiverOn('127.0.0.1');
    const allowed = await receiverOn('127.0.0.2', 0, () => ({
      status: 307,
      headers: { location: `http://127.0.0.1:${internal.port}/latest/meta-data` },
    }));
    try {
      const channel = createWebhookChannel(cfg);
      const outcome = await channel.send({ ...message, to: `http://127.0.0.2:${allowed.port}/hook` });
      expect(outcome).toEqual({ status: 'permanent', error: 'webhook HTTP 307' });
      expect(allowed.seen).toEqual(['/hook']);
      expect(internal.seen).toEqual([]);
    } finally {
      await allowed.close();
      await internal.close();
    }
  });

  it('a refused connection, a dropped connection and a refused target all read the same', async () => {
    const dropper: Server = createServer((s: Socket) => s.destroy());
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.2', () => r()));
    try {
      const channel = createWebhookChannel(cfg);
      const refused = await channel.send({ ...message, to: `http://127.0.0.2:${closedPort}/x` });
      const dropped = await channel.send({ ...message, to: `http://127.0.0.2:${(dropper.address() as AddressInfo).port}/x` });
      const notAllowed = await channel.send({ ...message, to: `http://127.0.0.1:${closedPort}/x` });
      expect([refused, dropped, notAllowed].map((o) => ('error' in o ? o.error : o.status))).toEqual([
        WEBHOOK_NOT_DELIVERED,
        WEBHOOK_NOT_DELIVERED,
        WEBHOOK_NOT_DELIVERED,
      ]);
    } finally {
      await new Promise<void>((r) => dropper.close(() => r()));
    }
  });
});
