import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseAnnouncementSchema, topics, type GatewayHealth, type ReleaseAnnouncement } from '@tamky/protocol';
import { fleetPublicKey, generateFleetKeys, releaseSignatureValid } from '@tamky/service-kit';
import { tempDir, waitFor } from '@tamky/test-support';
import { api, login, mqttClient, startHarness, type Harness, type Session } from './helpers';

/**
 * Staged rollout from the centre: an admin starts it for one ward; the dashboard signs the release it serves and
 * announces it, retained, to that ward's gateways only; when they all report the new version, to the rest; a
 * gateway that rolls it back halts the rollout. Each step is audited. The gateways here are MQTT clients reporting
 * health (the real install and rollback on a gateway are proven by test/fleet-update.test.ts).
 */
describe('staged rollout of gateway software', () => {
  let h: Harness;
  let mqtt: MqttClient;
  let admin: Session;
  const keys = generateFleetKeys();
  const announced = new Map<string, ReleaseAnnouncement>();
  /** Gateways whose retained announcement the dashboard cleared (a cancelled rollout). */
  const withdrawn = new Set<string>();
  const VERSION = '9.9.9';
  const NEXT = '9.9.10';
  const bytes = Buffer.from('not really a tarball, but bytes whose SHA-256 is signed');
  let firstWard: string;
  let first: string[];
  let rest: string[];

  const health = (gateway: string, version: string, rollback: NonNullable<GatewayHealth['fleet']>['rollback'] = null) =>
    mqtt.publishAsync(
      topics.health(gateway),
      JSON.stringify({
        gateway,
        ts: Date.now(),
        uptimeS: 1,
        version,
        configHash: 'x',
        cpuPct: 1,
        rssBytes: 1,
        diskFreeBytes: null,
        diskTotalBytes: null,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0, notDurable: 0 },
        devices: [],
        fleet: { configVersion: 1, configHash: null, rollback },
      } satisfies GatewayHealth),
      { qos: 1 },
    );

  beforeAll(async () => {
    const dir = tempDir('fleet-rollout');
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(dir, 'fleet.key'), keys.privateKeyPem);
    for (const v of [VERSION, NEXT]) {
      writeFileSync(join(releases, `tamky-gateway-${v}-linux-x64.tgz`), Buffer.concat([bytes, Buffer.from(v)]));
      writeFileSync(
        join(releases, `tamky-gateway-${v}-linux-x64.json`),
        JSON.stringify({ version: v, tarball: `tamky-gateway-${v}-linux-x64.tgz` }),
      );
    }
    h = await startHarness({
      config: {
        fleet: {
          signingKeyFile: join(dir, 'fleet.key'),
          releasesDir: releases,
          releaseBaseUrl: 'https://centre.example.vn',
          deadlineMs: 60_000,
        },
      },
    });
    admin = await login(h.url, 'admin');
    mqtt = await mqttClient(h.mqttUrl);
    mqtt.on('message', (topic, payload) => {
      if (payload.length === 0) return void withdrawn.add(topic.split('/')[3]!);
      const ann = releaseAnnouncementSchema.parse(JSON.parse(payload.toString()));
      announced.set(ann.gateway, ann);
    });
    await mqtt.subscribeAsync('city/v1/gw/+/release', { qos: 1 });
    const byWard = new Map<string, string[]>();
    for (const g of h.city.gateways) byWard.set(g.ward, [...(byWard.get(g.ward) ?? []), g.id]);
    [firstWard, first] = [...byWard.entries()].find(([, ids]) => ids.length > 0)!;
    rest = h.city.gateways.filter((g) => g.ward !== firstWard).map((g) => g.id);
    expect(rest.length).toBeGreaterThanOrEqual(3);
  });
  afterAll(async () => {
    await mqtt?.endAsync();
    await h?.close();
  });

  it('only an admin starts a rollout; technicians see it', async () => {
    const tech = await login(h.url, 'technician');
    expect((await api(h.url, tech, 'POST', '/api/fleet/rollouts', { version: VERSION, firstWard })).status).toBe(403);
    expect((await api(h.url, tech, 'GET', '/api/fleet/rollouts')).status).toBe(200);
    const releases = await (await api(h.url, admin, 'GET', '/api/fleet/releases')).json();
    expect(releases.releases.map((r: { version: string }) => r.version).sort()).toEqual([VERSION, NEXT].sort());
  });

  it('announces a signed release to the first ward only, serving exactly the signed bytes', async () => {
    const res = await api(h.url, admin, 'POST', '/api/fleet/rollouts', { version: VERSION, firstWard });
    expect(res.status).toBe(200);
    expect((await res.json()).stage).toBe('first_ward');
    await waitFor(() => first.every((g) => announced.has(g)) || undefined, { what: 'announcements to the first ward' });
    const ann = announced.get(first[0]!)!;
    expect(releaseSignatureValid(ann.release, ann.signature, fleetPublicKey(keys.publicKeyPem))).toBe(true);
    expect(ann.url).toBe(`https://centre.example.vn/api/fleet/releases/${ann.release.file}`);
    const served = Buffer.from(await (await fetch(`${h.url}/api/fleet/releases/${ann.release.file}`)).arrayBuffer());
    expect(createHash('sha256').update(served).digest('hex')).toBe(ann.release.sha256);
    expect(ann.release.sha256).toBe(
      createHash('sha256')
        .update(Buffer.concat([bytes, Buffer.from(VERSION)]))
        .digest('hex'),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(rest.filter((g) => announced.has(g))).toEqual([]);
    // A second rollout cannot start while this one runs.
    expect((await api(h.url, admin, 'POST', '/api/fleet/rollouts', { version: VERSION, firstWard })).status).toBe(409);
  });

  it('moves on to the rest of the city once the first ward reports the new version', async () => {
    for (const g of first) await health(g, VERSION);
    await waitFor(() => rest.every((g) => announced.has(g)) || undefined, { what: 'announcements to the rest' });
    const { rollouts } = await (await api(h.url, admin, 'GET', '/api/fleet/rollouts')).json();
    expect(rollouts[0]).toMatchObject({ stage: 'rest', version: VERSION });
  });

  it('halts when a gateway rolls the version back, and audits every step', async () => {
    await health(rest[0]!, '0.1.0', {
      kind: 'software',
      rejected: VERSION,
      running: '0.1.0',
      reason: 'exited with code 1',
      ts: Date.now(),
    });
    const halted = await waitFor(
      async () => {
        const { rollouts } = await (await api(h.url, admin, 'GET', '/api/fleet/rollouts')).json();
        return rollouts[0].stage === 'halted' ? rollouts[0] : undefined;
      },
      { what: 'the rollout halted' },
    );
    expect(halted.reason).toMatch(new RegExp(`${rest[0]}.*exited with code 1`));
    const audit = await (await api(h.url, admin, 'GET', '/api/audit?action=fleet.')).json();
    expect(audit.entries.map((e: { action: string }) => e.action).sort()).toEqual([
      'fleet.rollout.advance',
      'fleet.rollout.halt',
      'fleet.rollout.start',
    ]);
  });
  const latest = async () => (await (await api(h.url, admin, 'GET', '/api/fleet/rollouts')).json()).rollouts[0];
  const stageIs = (stage: string) =>
    waitFor(async () => ((await latest()).stage === stage ? latest() : undefined), { what: `the rollout ${stage}` });
  const rollback = (gateway: string, version: string, reason: string, ts = Date.now()) =>
    health(gateway, '0.1.0', { kind: 'software', rejected: version, running: '0.1.0', reason, ts });

  it('resumes a halted rollout once its cause is fixed: announced again where not taken, the seen rollback no longer halting it', async () => {
    const halted = await latest();
    expect(halted).toMatchObject({ stage: 'halted', canResume: true, canCancel: true });
    const tech = await login(h.url, 'technician');
    expect((await api(h.url, tech, 'POST', `/api/fleet/rollouts/${halted.id}/resume`, {})).status).toBe(403);
    expect((await api(h.url, admin, 'POST', '/api/fleet/rollouts/9999/resume', {})).status).toBe(404);
    announced.clear();
    const res = await api(h.url, admin, 'POST', `/api/fleet/rollouts/${halted.id}/resume`, { note: 'release URL fixed on the proxy' });
    expect(res.status).toBe(200);
    // At the stage it halted in; every gateway not on the version is told again (one that refused may retry).
    expect(await res.json()).toMatchObject({ stage: 'rest', reason: null, canResume: false });
    await waitFor(() => rest.every((g) => announced.has(g)) || undefined, { what: 'announcements again to the rest' });
    expect(first.filter((g) => announced.has(g))).toEqual([]);
    // The rollback the admin saw, reported again as every health report does, does not halt it again.
    const seen = (await (await api(h.url, admin, 'GET', '/api/gateways')).json()).gateways.find((g: { id: string }) => g.id === rest[0])
      .health.fleet.rollback;
    await health(rest[0]!, '0.1.0', seen);
    // A different gateway's new rollback does.
    await rollback(rest[1]!, VERSION, 'healthy.json never written', seen.ts + 1);
    const again = await stageIs('halted');
    expect(again.reason).toMatch(/healthy\.json never written/);
    // Resumed again; the others take the version; the two that rolled back do not hold it up.
    expect((await api(h.url, admin, 'POST', `/api/fleet/rollouts/${halted.id}/resume`, {})).status).toBe(200);
    for (const g of rest.slice(2)) await health(g, VERSION);
    const done = await stageIs('done');
    expect(done.canCancel).toBe(false);
    expect((await api(h.url, admin, 'POST', `/api/fleet/rollouts/${halted.id}/resume`, {})).status).toBe(409);
    const audit = await (await api(h.url, admin, 'GET', '/api/audit?action=fleet.rollout.resume')).json();
    expect(audit.entries[audit.entries.length - 1]).toMatchObject({
      user: 'admin',
      action: 'fleet.rollout.resume',
      detail: { rollout: halted.id, version: VERSION, stage: 'rest', note: 'release URL fixed on the proxy', excused: [rest[0]] },
    });
  });

  it('cancels a rollout: gateways not on the version lose its announcement, and it is audited', async () => {
    withdrawn.clear();
    const started = await (await api(h.url, admin, 'POST', '/api/fleet/rollouts', { version: NEXT, firstWard })).json();
    expect(started.stage).toBe('first_ward');
    await waitFor(() => first.every((g) => announced.get(g)?.release.version === NEXT) || undefined, { what: `${NEXT} announced` });
    const tech = await login(h.url, 'technician');
    expect((await api(h.url, tech, 'POST', `/api/fleet/rollouts/${started.id}/cancel`, {})).status).toBe(403);
    const res = await api(h.url, admin, 'POST', `/api/fleet/rollouts/${started.id}/cancel`, { note: 'wrong build' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ stage: 'cancelled', reason: 'cancelled by admin: wrong build', canCancel: false });
    // The retained announcement is cleared: a gateway offline now does not install it when it comes back.
    await waitFor(() => first.every((g) => withdrawn.has(g)) || undefined, { what: 'announcements withdrawn' });
    expect([...withdrawn].filter((g) => !first.includes(g))).toEqual([]);
    expect((await api(h.url, admin, 'POST', `/api/fleet/rollouts/${started.id}/cancel`, {})).status).toBe(409);
    expect((await api(h.url, admin, 'POST', `/api/fleet/rollouts/${started.id}/resume`, {})).status).toBe(409);
    // A rollback reported afterwards changes nothing, and a new rollout may start.
    await rollback(first[0]!, NEXT, 'late report');
    expect((await latest()).stage).toBe('cancelled');
    const audit = await (await api(h.url, admin, 'GET', '/api/audit?action=fleet.rollout.cancel')).json();
    expect(audit.entries[0]).toMatchObject({
      user: 'admin',
      detail: { rollout: started.id, version: NEXT, from: 'first_ward', withdrawn: first, note: 'wrong build' },
    });
  });
});
