/**
 * Reproduction for the broker: does a connected, persistent-session QoS 1 subscriber receive every QoS 1
 * message the broker acknowledged to its publisher? No fault is injected at all.
 *
 *   npx tsx bench/faults/repro-subscriber-gaps.ts [--persistence redis|memory] [--seconds 30] [--publishers 20] [--rate 4]
 *
 * Runs the broker CLI as a child process (development profile, anonymous loopback clients), N publishers
 * sending numbered QoS 1 messages on `city/v1/gw/<id>/telemetry`, and two subscribers (clean: false, QoS 1,
 * `city/v1/gw/+/telemetry`). Prints, per subscriber, how many PUBACKed messages it never received.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { freePort, startRedis, tempDir, waitForPort } from '@tamky/test-support';
import { REPO_ROOT } from './city';
import { ManagedProcess } from './managed-process';

const { values } = parseArgs({
  options: {
    persistence: { type: 'string', default: 'redis' },
    seconds: { type: 'string', default: '30' },
    publishers: { type: 'string', default: '20' },
    rate: { type: 'string', default: '4' },
  },
});
const dir = tempDir('repro-gaps');
const redis = values.persistence === 'redis' ? await startRedis() : undefined;
const port = await freePort();
const file = join(dir, 'broker.yaml');
writeFileSync(
  file,
  stringify({
    profile: 'development',
    listeners: { mqtt: { host: '127.0.0.1', port } },
    persistence: redis ? { type: 'redis', url: redis.url } : { type: 'memory' },
  }),
);
const broker = ManagedProcess.node('broker', join(REPO_ROOT, 'broker/src/cli.ts'), ['--config', file], join(dir, 'broker.log'), REPO_ROOT);
broker.start();
await waitForPort(port, 'broker', 60_000);
const url = `mqtt://127.0.0.1:${port}`;

const received = [new Map<string, Set<number>>(), new Map<string, Set<number>>()];
const subs = await Promise.all(
  received.map(async (got, i) => {
    const c = mqtt.connect(url, { clientId: `repro-sub-${i}`, clean: false, protocolVersion: 4 });
    await new Promise((r) => c.once('connect', r));
    // The same pair of subscriptions as the loss observer: telemetry at QoS 1, the live feed at QoS 0.
    await c.subscribeAsync({ 'city/v1/gw/+/telemetry': { qos: 1 }, 'city/v1/live/readings': { qos: 0 } });
    c.on('message', (topic, payload) => {
      if (topic === 'city/v1/live/readings') return;
      const { n } = JSON.parse(payload.toString()) as { n: number };
      const gw = topic.split('/')[3]!;
      if (!got.has(gw)) got.set(gw, new Set());
      got.get(gw)!.add(n);
    });
    return c;
  }),
);

const acked = new Map<string, Set<number>>();
const pubs = await Promise.all(
  Array.from({ length: Number(values.publishers) }, async (_, i) => {
    const id = `gw-repro-${i}`;
    const c = mqtt.connect(url, { clientId: id, clean: true, protocolVersion: 4 });
    await new Promise((r) => c.once('connect', r));
    acked.set(id, new Set());
    let n = 0;
    const timer = setInterval(
      () => {
        const k = ++n;
        c.publish(`city/v1/gw/${id}/telemetry`, JSON.stringify({ n: k, pad: 'x'.repeat(300) }), { qos: 1 }, (err) => {
          if (!err) acked.get(id)!.add(k);
        });
      },
      1000 / Number(values.rate),
    );
    return { c, timer };
  }),
);
// A live-feed publisher like ingest: QoS 0, as many messages as all publishers together.
const live = mqtt.connect(url, { clientId: 'repro-live', clean: true, protocolVersion: 4 });
await new Promise((r) => live.once('connect', r));
const liveTimer = setInterval(
  () => live.publish('city/v1/live/readings', JSON.stringify({ readings: [], pad: 'y'.repeat(300) }), { qos: 0 }),
  1000 / (Number(values.rate) * Number(values.publishers)),
);
await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
clearInterval(liveTimer);
await live.endAsync();
for (const p of pubs) clearInterval(p.timer);
await new Promise((r) => setTimeout(r, 5000));
let total = 0;
for (const s of acked.values()) total += s.size;
const report = (when: string) =>
  received.forEach((got, i) => {
    let missing = 0;
    const examples: string[] = [];
    for (const [gw, ns] of acked)
      for (const n of ns)
        if (!got.get(gw)?.has(n)) {
          missing++;
          if (examples.length < 8) examples.push(`${gw}#${n}`);
        }
    console.log(
      `persistence=${values.persistence} subscriber ${i} ${when}: acked to publishers=${total} never delivered=${missing} ${examples.join(' ')}`,
    );
  });
report('while connected');
// Are the gaps still queued in the session (delivered on reconnect) or gone?
await Promise.all(subs.map((s) => s.endAsync()));
const again = received.map((got, i) => {
  const c = mqtt.connect(url, { clientId: `repro-sub-${i}`, clean: false, protocolVersion: 4 });
  c.on('message', (topic, payload) => {
    if (topic === 'city/v1/live/readings') return;
    const { n } = JSON.parse(payload.toString()) as { n: number };
    const gw = topic.split('/')[3]!;
    if (!got.has(gw)) got.set(gw, new Set());
    got.get(gw)!.add(n);
  });
  return c;
});
await new Promise((r) => setTimeout(r, 8000));
report('after reconnecting (same session)');
subs.splice(0, subs.length, ...again);
await Promise.all([...pubs.map((p) => p.c.endAsync()), ...subs.map((s) => s.endAsync())]);
await broker.stop();
await redis?.stop();
process.exit(0);
