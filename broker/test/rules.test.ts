import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfigFile } from '@tamky/service-kit';
import { brokerConfigSchema, credentialsSchema, hashSecret, mayPublish, maySubscribe, verifySecret, type Identity } from '../src/index';
import { TokenBucket } from '@tamky/service-kit';
import { Fifo } from '../src/limits/mq-queue';

const gwA: Identity = { kind: 'gateway', gatewayId: 'gw-a', prefix: 'city/v1/gw/gw-a/' };
const ingest: Identity = { kind: 'service', username: 'ingest', role: 'ingest' };
const dashboard: Identity = { kind: 'service', username: 'dashboard', role: 'dashboard' };

describe('secrets', () => {
  it('hashes to a self-describing scrypt string and verifies only the right secret', async () => {
    const hash = await hashSecret('s3cret', { N: 1024 });
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifySecret('s3cret', hash)).toBe(true);
    expect(await verifySecret('s3cret ', hash)).toBe(false);
    expect(await hashSecret('s3cret', { N: 1024 })).not.toBe(hash); // salted
  });

  it('treats malformed or absurd hashes as a mismatch instead of throwing', async () => {
    for (const bad of [
      '',
      'plain',
      'scrypt$x$8$1$AAAA$BBBB',
      'bcrypt$10$abc',
      'scrypt$1073741824$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==',
    ]) {
      expect(await verifySecret('s3cret', bad)).toBe(false);
    }
  });
});

describe('topic rights', () => {
  it('lets a gateway publish only under its own prefix and retain only its status', () => {
    for (const kind of ['telemetry', 'status', 'health', 'cmd-result', 'event'])
      expect(mayPublish(gwA, `city/v1/gw/gw-a/${kind}`, false)).toBeUndefined();
    expect(mayPublish(gwA, 'city/v1/gw/gw-b/telemetry', false)).toBe('not-allowed-topic');
    expect(mayPublish(gwA, 'city/v1/gw/gw-a/cmd', false)).toBe('not-allowed-topic');
    expect(mayPublish(gwA, 'city/v1/gw/gw-a/telemetry/extra', false)).toBe('not-allowed-topic');
    expect(mayPublish(gwA, 'city/v1/gw/gw-a', false)).toBe('not-allowed-topic');
    expect(mayPublish(gwA, 'city/v1/gw/gw-a/status', true)).toBeUndefined();
    expect(mayPublish(gwA, 'city/v1/gw/gw-a/telemetry', true)).toBe('retain-not-allowed');
    expect(mayPublish(gwA, '$SYS/x', false)).toBe('reserved-topic');
  });

  it('lets a gateway subscribe only to its own commands', () => {
    expect(maySubscribe(gwA, 'city/v1/gw/gw-a/cmd')).toBeUndefined();
    for (const f of ['#', 'city/#', 'city/v1/gw/+/cmd', 'city/v1/gw/gw-a/#', 'city/v1/gw/gw-a/+', 'city/v1/gw/gw-b/cmd', '$SYS/#'])
      expect(maySubscribe(gwA, f)).toBeDefined();
  });

  it('gives ingest the gateway uplink and config, and lets it publish live and alarm', () => {
    expect(maySubscribe(ingest, 'city/v1/gw/+/telemetry')).toBeUndefined();
    expect(maySubscribe(ingest, 'city/v1/gw/gw-a/event')).toBeUndefined();
    expect(maySubscribe(ingest, 'city/v1/config/#')).toBeUndefined();
    expect(maySubscribe(ingest, 'city/v1/config/rules')).toBeUndefined();
    for (const f of ['city/v1/gw/#', 'city/v1/gw/+/+', 'city/v1/gw/+/cmd', 'city/v1/#', '#', 'city/v1/live/#'])
      expect(maySubscribe(ingest, f)).toBeDefined();
    expect(mayPublish(ingest, 'city/v1/live/readings', false)).toBeUndefined();
    expect(mayPublish(ingest, 'city/v1/alarm/pm25-high/an-my-air-1', false)).toBeUndefined();
    expect(mayPublish(ingest, 'city/v1/gw/gw-a/cmd', false)).toBe('not-allowed-topic');
    expect(mayPublish(ingest, 'city/v1/live/readings', true)).toBe('retain-not-allowed');
  });

  it('lets the dashboard command any gateway and retain configuration', () => {
    expect(mayPublish(dashboard, 'city/v1/gw/gw-a/cmd', false)).toBeUndefined();
    expect(mayPublish(dashboard, 'city/v1/config/registry', true)).toBeUndefined();
    expect(mayPublish(dashboard, 'city/v1/gw/gw-a/telemetry', false)).toBe('not-allowed-topic');
    expect(mayPublish(dashboard, 'city/v1/gw/gw-a/cmd', true)).toBe('retain-not-allowed');
    for (const f of [
      'city/v1/gw/+/status',
      'city/v1/gw/+/health',
      'city/v1/gw/+/cmd-result',
      'city/v1/gw/+/event',
      'city/v1/live/#',
      'city/v1/alarm/#',
    ])
      expect(maySubscribe(dashboard, f)).toBeUndefined();
    expect(maySubscribe(dashboard, 'city/v1/gw/+/telemetry')).toBe('not-allowed-topic');
  });

  it('gives anonymous (development, loopback) clients read-only rights: subscribe to anything, publish nothing', () => {
    expect(maySubscribe({ kind: 'anonymous' }, '#')).toBeUndefined();
    expect(mayPublish({ kind: 'anonymous' }, '$SYS/x', false)).toBe('reserved-topic');
    expect(mayPublish({ kind: 'anonymous' }, 'city/v1/gw/gw-a/cmd', false)).toBe('not-allowed-topic');
    expect(mayPublish({ kind: 'anonymous' }, 'city/v1/config/rules', true)).toBe('not-allowed-topic');
  });
});

describe('config', () => {
  it('ships development and production example configs that validate', () => {
    for (const file of ['development.yaml', 'production.example.yaml']) {
      const config = loadConfigFile(join(import.meta.dirname, '../config', file), brokerConfigSchema);
      expect(config.listeners.mqtt.port).toBe(1883);
    }
    const dev = loadConfigFile(join(import.meta.dirname, '../config/development.yaml'), brokerConfigSchema);
    expect(dev.profile).toBe('development');
    expect(dev.credentials?.gateways.map((g) => g.id)).toContain('gw-an-my');
    expect(
      loadConfigFile(join(import.meta.dirname, '../config/credentials.example.yaml'), credentialsSchema).services.map((s) => s.role),
    ).toEqual(['ingest', 'dashboard']);
  });

  it('development hashes verify the documented development secrets', async () => {
    const dev = loadConfigFile(join(import.meta.dirname, '../config/development.yaml'), brokerConfigSchema);
    const gw = dev.credentials!.gateways.find((g) => g.id === 'gw-an-my')!;
    expect(await verifySecret('gw-an-my-dev-secret', gw.secretHash)).toBe(true);
    const ingest = dev.credentials!.services.find((s) => s.username === 'ingest')!;
    expect(await verifySecret('ingest-dev-secret', ingest.secretHash)).toBe(true);
  });

  it('names the field and the problem', () => {
    const r = brokerConfigSchema.safeParse({
      profile: 'staging',
      listeners: { mqtt: { port: 1883 } },
      credentials: { gateways: [{ id: 'gw a', secretHash: 'x' }], services: [{ username: 'gw-b', secretHash: 'x', role: 'admin' }] },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['profile', 'credentials.gateways.0.id', 'credentials.gateways.0.secretHash', 'credentials.services.0.role']),
    );
  });

  it('refuses a gateway id that is also a service username', async () => {
    const h = await hashSecret('x', { N: 1024 });
    const r = brokerConfigSchema.safeParse({
      profile: 'production',
      listeners: { mqtt: { port: 0 } },
      credentials: { gateways: [{ id: 'ingest', secretHash: h }], services: [{ username: 'ingest', secretHash: h, role: 'ingest' }] },
    });
    expect(r.success).toBe(false);
  });
});

describe('token bucket', () => {
  it('reserves on credit up to a limit, telling how long to wait', () => {
    let t = 0;
    const b = new TokenBucket(10, 2, () => t);
    expect([b.reserve(1), b.reserve(1)]).toEqual([0, 0]);
    expect(b.reserve(1)).toBeCloseTo(100); // one token short at 10/s
    expect(b.reserve(1)).toBeCloseTo(200);
    for (let i = 0; i < 8; i++) b.reserve(1); // now 10 tokens in debt = 1 s
    expect(b.reserve(1)).toBe(Infinity); // beyond the allowance: refused, nothing taken
    t += 1000;
    expect(b.reserve(1)).toBeCloseTo(100);
  });

  it('allows the burst, then the steady rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 5, () => t);
    expect(Array.from({ length: 7 }, () => b.take())).toEqual([true, true, true, true, true, false, false]);
    t += 100; // 0.1 s at 10/s = one token
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 10_000;
    expect(Array.from({ length: 6 }, () => b.take()).filter(Boolean).length).toBe(5);
  });
});

describe('fifo', () => {
  it('keeps order across growth and compaction', () => {
    const q = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) q.push(next++);
      for (let i = 0; i < 2000; i++) out.push(q.shift()!);
    }
    while (q.length) out.push(q.shift()!);
    expect(q.shift()).toBeUndefined();
    expect(out.length).toBe(next);
    expect(out.every((v, i) => v === i)).toBe(true);
  });
});
