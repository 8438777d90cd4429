import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { followRules, type RulesFollower } from '../src/alarms';
import type { AlarmRule } from '@tamky/protocol';
import { connectPublisher } from './helpers/fixtures';

// Finding H1 (its consequence): a retained config/rules with version 999999999 made ingest ignore every later
// rule set, silencing alarms. Implausible sets are now rejected with a logged reason; later good ones apply.

const rule = (id: string) => ({
  id,
  type: 'threshold',
  category: 'air',
  kind: 'pm_sensor',
  field: 'pm25',
  op: '>',
  value: 100,
  severity: 'major',
});

describe('ingest rejects implausible rule sets on config/rules and keeps following good ones', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let pub: MqttClient;
  let follower: RulesFollower;
  const applied: string[][] = [];
  const rejected: { reason?: string; version?: number }[] = [];
  const logger = {
    info: () => undefined,
    warn: () => undefined,
    debug: () => undefined,
    error: (obj: { reason?: string; version?: number }) => rejected.push(obj),
  } as unknown as Logger;

  beforeAll(async () => {
    broker = await startMosquitto();
    pub = await connectPublisher(broker.url);
    follower = await followRules({
      url: broker.url,
      clientId: 'rules-follower-test',
      logger,
      detector: { setRules: (rules: AlarmRule[]) => applied.push(rules.map((r) => r.id)) },
    });
  });
  afterAll(async () => {
    await follower?.close();
    await pub?.endAsync();
    await broker?.stop();
  });

  const publish = (set: Record<string, unknown>) => pub.publishAsync(topics.configRules(), JSON.stringify(set), { qos: 1, retain: true });

  it('applies a good set, rejects a version jump, ts 0 and a far-future ts with a reason, then applies the next good set', async () => {
    await publish({ version: 1, rules: [rule('r1')] });
    await waitFor(() => follower.version() === 1, { what: 'version 1 applied' });

    await publish({ version: 999_999_999, rules: [] });
    await publish({ version: 2, ts: 0, rules: [] });
    await publish({ version: 2, ts: Date.now() + 365 * 24 * 3600_000, rules: [] });
    await publish({ version: 1 + 5_000, rules: [] }); // within the absolute bound, but no edit history jumps so far
    await waitFor(() => rejected.length === 4, { what: 'four rejections' });
    expect(follower.version()).toBe(1);
    expect(rejected.map((r) => r.version)).toEqual([999_999_999, 2, 2, 5_001]);
    for (const r of rejected) expect(r.reason).toMatch(/version|ts/);

    await publish({ version: 2, ts: Date.now(), rules: [rule('r2')] });
    await waitFor(() => follower.version() === 2, { what: 'the next good set applied after the rejected ones' });
    expect(applied).toEqual([['r1'], ['r2']]);
  });
});
