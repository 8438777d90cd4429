import { describe, expect, it } from 'vitest';
import { readingSchema } from '@tamky/protocol';
import { z } from 'zod';
import { buildRegistry, validateTelemetry } from '../src/index';
import { fastEnvelope, isReading } from '../src/validate/fast-reading';
import { testCity } from './helpers/fixtures';

const good = { device: 'gw-a-air', ts: 1_750_000_000_000, seq: 7, values: { pm25: { v: 12.5, u: 'ug/m3' }, pm10: { v: 30, u: 'ug/m3' } } };

/** Readings zod must accept or refuse, each a small change to a good one (what a faulty gateway or a fuzzer sends). */
function readingCorpus(): unknown[] {
  const replace = (patch: Record<string, unknown>) => ({ ...good, ...patch });
  const value = (v: unknown) => replace({ values: { pm25: v } });
  const corpus: unknown[] = [
    good,
    { ...good, extra: 'ignored', gateway: 'gw-a' },
    replace({ values: { pm25: { v: 1, u: 'ug/m3', q: 'good' } } }),
    null,
    42,
    'reading',
    [],
    [good],
    {},
    replace({ device: undefined }),
    replace({ device: '' }),
    replace({ device: '-lead' }),
    replace({ device: 'a'.repeat(64) }),
    replace({ device: 'a'.repeat(65) }),
    replace({ device: 'has space' }),
    replace({ device: 'x/y' }),
    replace({ device: 'ok_1.2-3' }),
    replace({ device: 7 }),
    replace({ device: 'Đà' }),
    replace({ ts: 0 }),
    replace({ ts: -1 }),
    replace({ ts: 1.5 }),
    replace({ ts: '1750000000000' }),
    replace({ ts: Number.MAX_SAFE_INTEGER }),
    replace({ ts: Number.MAX_SAFE_INTEGER + 2 }),
    replace({ ts: Infinity }),
    replace({ ts: NaN }),
    replace({ ts: null }),
    replace({ ts: 1 }),
    replace({ seq: 0 }),
    replace({ seq: -0 }),
    replace({ seq: -1 }),
    replace({ seq: 0.5 }),
    replace({ seq: '1' }),
    replace({ seq: 2 ** 53 }),
    replace({ seq: undefined }),
    replace({ values: {} }),
    replace({ values: [] }),
    replace({ values: null }),
    replace({ values: 'pm25' }),
    replace({ values: [{ v: 1, u: 'm' }] }),
    replace({ values: { PM25: { v: 1, u: 'ug/m3' } } }),
    replace({ values: { '1pm': { v: 1, u: 'ug/m3' } } }),
    replace({ values: { pm_2_5: { v: 1, u: 'ug/m3' } } }),
    replace({ values: { ['x'.repeat(64)]: { v: 1, u: 'm' } } }),
    replace({ values: { ['x'.repeat(65)]: { v: 1, u: 'm' } } }),
    replace({ values: { '': { v: 1, u: 'm' } } }),
    replace({ values: { pm25: { v: 1, u: 'ug/m3' }, BAD: { v: 1, u: 'ug/m3' } } }),
    value(null),
    value([]),
    value([1, 'm']),
    value(1),
    value({}),
    value({ v: 1 }),
    value({ u: 'm' }),
    value({ v: '1', u: 'm' }),
    value({ v: Infinity, u: 'm' }),
    value({ v: -Infinity, u: 'm' }),
    value({ v: NaN, u: 'm' }),
    value({ v: -1e308, u: 'm' }),
    value({ v: 0, u: 'm' }),
    value({ v: -0, u: 'm' }),
    value({ v: 1, u: 'M' }),
    value({ v: 1, u: 'toString' }),
    value({ v: 1, u: '__proto__' }),
    value({ v: 1, u: '' }),
    value({ v: 1, u: 'km/h' }),
    value({ v: 1, u: 7 }),
    value({ v: true, u: 'm' }),
  ];
  // Every field of every unit code, and JSON's own oddities (a __proto__ key, numbers beyond double range).
  corpus.push(JSON.parse('{"device":"d","ts":1,"seq":1,"values":{"__proto__":{"v":1,"u":"m"}}}'));
  corpus.push(JSON.parse('{"device":"d","ts":1e400,"seq":1,"values":{"x":{"v":1,"u":"m"}}}'));
  corpus.push(JSON.parse('{"device":"d","ts":1,"seq":1,"values":{"x":{"v":1e400,"u":"m"}}}'));
  corpus.push(JSON.parse('{"device":"d","ts":1,"seq":1,"values":{"x":{"v":1,"u":"m"}},"__proto__":{"device":"z"}}'));
  // Deterministic mutations: each key of a good reading dropped or set to values of every JSON type.
  const kinds: unknown[] = [null, true, 0, -3, 2.5, '', 's', [], {}, { v: 1, u: 'm' }];
  for (const key of ['device', 'ts', 'seq', 'values', 'clock', 'era']) for (const k of kinds) corpus.push(replace({ [key]: k }));
  // The clock marks and eras a gateway sends after its clock stepped.
  for (const clock of ['unsynced', 'corrected', 'Corrected', undefined])
    for (const era of [0, 1, 7, -1, 1.5, undefined]) corpus.push(replace({ clock, era }));
  for (const k of kinds) {
    corpus.push(value({ v: k, u: 'ug/m3' }));
    corpus.push(value({ v: 1, u: k }));
  }
  return corpus;
}

describe('the hand-written reading check agrees with protocol readingSchema', () => {
  const corpus = readingCorpus();

  it('accepts exactly what zod accepts', () => {
    let accepted = 0;
    for (const x of corpus) {
      const spec = readingSchema.safeParse(x);
      expect({ x, verdict: isReading(x) }).toEqual({ x, verdict: spec.success });
      if (spec.success) accepted++;
    }
    // The corpus exercises both verdicts.
    expect(accepted).toBeGreaterThan(10);
    expect(corpus.length - accepted).toBeGreaterThan(60);
  });

  it('agrees on the batch envelope too', () => {
    const envelope = z.object({ v: z.number(), gateway: z.string(), readings: z.array(z.unknown()).min(1).max(10_000) });
    const cases: unknown[] = [
      { v: 1, gateway: 'gw-a', readings: [good] },
      { v: 2, gateway: 'gw-a', readings: [1] },
      { v: '1', gateway: 'gw-a', readings: [good] },
      { v: 1, gateway: 3, readings: [good] },
      { v: 1, gateway: 'gw-a', readings: [] },
      { v: 1, gateway: 'gw-a', readings: new Array(10_000).fill(good) },
      { v: 1, gateway: 'gw-a', readings: new Array(10_001).fill(good) },
      { v: 1, gateway: 'gw-a', readings: {} },
      { v: 1, gateway: 'gw-a' },
      JSON.parse('{"v":1e400,"gateway":"gw-a","readings":[1]}'),
      [],
      null,
      'x',
    ];
    for (const x of cases) expect(fastEnvelope(x) !== undefined).toBe(envelope.safeParse(x).success);
  });

  it('a reading from a gateway whose clock stepped keeps its era into the store; its mark is accepted', () => {
    const registry = buildRegistry(testCity());
    const stepped = { ...good, seq: 9, ts: good.ts - 3_600_000, clock: 'corrected', era: 2 };
    const out = validateTelemetry(
      'city/v1/gw/gw-a/telemetry',
      JSON.stringify({ v: 1, gateway: 'gw-a', readings: [good, stepped] }),
      registry,
      1,
    );
    expect(out.rejections).toEqual([]);
    expect(out.readings.map((r) => [r.seq, r.ts, r.era])).toEqual([
      [7, good.ts, undefined],
      [9, good.ts - 3_600_000, 2],
    ]);
  });

  it("dead-letters a bad reading with zod's own words, keeping its good neighbours", () => {
    const registry = buildRegistry(testCity());
    const bad = { ...good, seq: 8, ts: good.ts + 1000, values: { pm25: { v: 1, u: 'ppm' } } };
    const out = validateTelemetry(
      'city/v1/gw/gw-a/telemetry',
      JSON.stringify({ v: 1, gateway: 'gw-a', readings: [good, bad] }),
      registry,
      1,
    );
    expect(out.readings.map((r) => r.seq)).toEqual([7]);
    const zodWords = readingSchema.safeParse(bad);
    expect(zodWords.success).toBe(false);
    const issue = zodWords.error!.issues[0]!;
    expect(out.rejections.map((r) => r.letter.reason)).toEqual([`schema: ${issue.path.join('.')}: ${issue.message}`]);
    expect(out.rejections[0]!.letter.device).toBe('gw-a-air');

    const envelopeBad = validateTelemetry(
      'city/v1/gw/gw-a/telemetry',
      JSON.stringify({ v: 1, gateway: 'gw-a', readings: [] }),
      registry,
      1,
    );
    expect(envelopeBad.rejections.map((r) => r.letter.reason)).toEqual(['schema: readings: Too small: expected array to have >=1 items']);
  });
});
