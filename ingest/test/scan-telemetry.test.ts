import { describe, expect, it } from 'vitest';
import { KIND_FIELDS } from '@tamky/protocol';
import { buildRegistry, validateTelemetry } from '../src/index';
import { scanValidTelemetry } from '../src/validate/scan-telemetry';
import { testCity } from './helpers/fixtures';

/**
 * The scanner reads the common message (every reading accepted) straight from its text; whatever it does
 * not take goes the full way (JSON.parse, reading checks, zod). These tests hold the two ways to the same
 * result, byte for byte, over good messages and over every kind of oddity a gateway or a fuzzer sends.
 */
const registry = buildRegistry(testCity());
const TOPIC = 'city/v1/gw/gw-a/telemetry';
const full = (text: string) => validateTelemetry(TOPIC, text, registry, 1, { scan: false });
const either = (text: string) => validateTelemetry(TOPIC, text, registry, 1);
const scanned = (text: string) => scanValidTelemetry(text, 'gw-a', registry);

/** Same result both ways, -0 and every bit of every number included. */
function expectSame(text: string): void {
  const a = either(text);
  const b = full(text);
  expect({ text, result: a }).toEqual({ text, result: b });
  a.readings.forEach((r, i) => {
    for (const [field, v] of Object.entries(r.values))
      expect({ text, field, same: Object.is(v, b.readings[i]!.values[field]) }).toEqual({ text, field, same: true });
  });
}

const reading = (values: string, extra = '') => `{"device":"gw-a-air","ts":1750000000000,"seq":7,"values":{${values}}${extra}}`;
const message = (...readings: string[]) => `{"v":1,"gateway":"gw-a","readings":[${readings.join(',')}]}`;
const GOOD = message(
  reading('"pm25":{"v":12.5,"u":"ug/m3"},"pm10":{"v":30,"u":"ug/m3"}'),
  `{"device":"gw-a-noise","ts":1750000001000,"seq":8,"values":{"laeq":{"v":55.2,"u":"dBA"}}}`,
);

describe('telemetry read straight from the text', () => {
  it('takes good messages, with the readings, counts and tags the full way gives', () => {
    const s = scanned(GOOD);
    expect(s).toBeDefined();
    expect(s!.readings).toEqual(full(GOOD).readings);
    expect(s!.values).toBe(3);
    expect(s!.newestTs).toBe(1750000001000);
    expectSame(GOOD);
    // Blanks anywhere JSON allows them, and members in another order, are still taken.
    const spaced = ` {\n "readings" : [ {"device" : "gw-a-air" ,\t"seq":7, "ts":1750000000000 , "values" : { "pm25" : { "v" : 12.5 , "u" : "ug/m3" } } } ] , "gateway":"gw-a", "v" : 1 }\r\n`;
    expect(scanned(spaced)).toBeDefined();
    expectSame(spaced);
    // Gateways' own layout and others in one message; a blank late in a reading sends it back to be read token by token.
    const mixed = message(
      reading('"pm25":{"v":1,"u":"ug/m3"}'),
      reading('"pm25":{"v":2, "u":"ug/m3"}'),
      reading('"pm25":{"v":3,"u":"ug/m3"} '),
      reading('"pm25":{"v":4,"u":"ug/m3"}'),
    );
    expect(scanned(mixed)?.readings.map((r) => r.values.pm25)).toEqual([1, 2, 3, 4]);
    expectSame(mixed);
  });

  it('gives every number exactly the double JSON.parse gives', () => {
    const texts: string[] = [];
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
    for (let i = 0; i < 3000; i++) {
      // Temperatures within -40..80 °C written every way a gateway's float formatting might: short, long, negative, fixed.
      const t = rand() * 119 - 39.5;
      const temperature = [
        String(t),
        t.toFixed(Math.floor(rand() * 21)),
        String(Math.round(t)),
        `${Math.trunc(t)}.${digits(1 + Math.floor(rand() * 25))}`.replace(/^(-?)0?\./, '$10.'),
      ][i % 4]!;
      // CO up to 200000 with up to 25 fraction digits: beyond 2^53 in digits, where Number() takes over.
      const co = `${Math.floor(rand() * 199_999)}.${digits(1 + Math.floor(rand() * 25))}`;
      texts.push(message(reading(`"temperature":{"v":${temperature},"u":"degC"},"co":{"v":${co},"u":"ug/m3"}`)));
    }
    let taken = 0;
    for (const text of texts) {
      expectSame(text);
      if (scanned(text)) taken++;
    }
    expect(taken).toBeGreaterThan(2900);
  });

  it('leaves everything else to the full way, with the same verdicts and dead letters', () => {
    const odd: string[] = [
      // Not JSON, or not the envelope.
      '',
      ' ',
      'null',
      '[]',
      '{}',
      '{"v":1}',
      GOOD.slice(0, -1),
      `${GOOD}x`,
      `${GOOD}}`,
      `\uFEFF${GOOD}`,
      GOOD.replace('"v":1', '"v":2'),
      GOOD.replace('"v":1', '"v":1.0'),
      GOOD.replace('"v":1', '"v":1e0'),
      GOOD.replace('"v":1', '"v":"1"'),
      GOOD.replace('"gateway":"gw-a"', '"gateway":"gw-b"'),
      GOOD.replace('"gateway":"gw-a"', '"gateway":"gw\\u002da"'),
      GOOD.replace('"v":1,', '"v":1,"v":1,'),
      GOOD.replace('"v":1,', '"v":1,"extra":true,'),
      message(),
      `{"v":1,"gateway":"gw-a","readings":{}}`,
      GOOD.replace('"readings":[', '"readings":"v":1,"r":['),
      `{"v":1,"gateway":"gw-a","readings":[${reading('"pm25":{"v":1,"u":"ug/m3"}')}],"readings":"v":1}`,
      // Readings the full way accepts but the scanner does not take.
      message(reading('"pm25":{"v":1,"u":"ug/m3"}', ',"extra":1')),
      message(`{"ts":1750000000000,"device":"gw-a-air","seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(reading('"pm25":{"u":"ug/m3","v":1}')),
      message(reading('"pm25":{"v":1,"u":"ug/m3","q":1}')),
      message(reading('"pm25":{"v":1e1,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":1E-1,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":12345678901234567890123,"u":"ug/m3"}')),
      message(reading('"temperature":{"v":-0,"u":"degC"}')),
      message(reading('"temperature":{"v":-0.0,"u":"degC"}')),
      message(reading('"pm25":{"v":0.0000000000000000000000001,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":1,"u":"ug\\/m3"}')),
      message(`{"device":"gw-a-\\u0061ir","ts":1750000000000,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      // Rejections: schema, registry, fields, units, ranges.
      message(reading('"pm25":{"v":1,"u":"ug/m3"},"pm25":{"v":2,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":01,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":1.,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":.5,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":+1,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":-,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":"1","u":"ug/m3"}')),
      message(reading('"pm25":{"v":null,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":1,"u":"mg/m3"}')),
      message(reading('"pm25":{"v":1,"u":"ug/m3 "}')),
      message(reading('"pm25":{"v":1001,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":-1,"u":"ug/m3"}')),
      message(reading('"laeq":{"v":50,"u":"dBA"}')),
      message(reading('"PM25":{"v":1,"u":"ug/m3"}')),
      message(reading('"constructor":{"v":1,"u":"ug/m3"}')),
      message(reading('"__proto__":{"v":1,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":1,"u":"ug/m3"},"bogus":{"v":1,"u":"ug/m3"}')),
      message(reading('')),
      message(reading('"pm25":1')),
      message(reading('"pm25":{}')),
      message(reading('"pm25":{"v":1}')),
      message(`{"device":"gw-b-air","ts":1750000000000,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"nobody","ts":1750000000000,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"has space","ts":1750000000000,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":0,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":1.5,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":9007199254740993,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":1750000000000,"seq":-1,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":1750000000000,"seq":1e3,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":1750000000000,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","ts":1750000000000,"seq":7,"seq":8,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(`{"device":"gw-a-air","device":"gw-a-air","ts":1,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3"}}}`),
      message(reading('"pm25":{"v":1,"u":"ug/m3"}'), 'null', reading('"pm25":{"v":2,"u":"ug/m3"}')),
      message(reading('"pm25":{"v":1,"u":"ug/m3"}'), reading('"pm25":{"v":5000,"u":"ug/m3"}')),
      message(`{"device":"gw-a-air","ts":1750000000000,"seq":7,"values":{"pm25":{"v":1,"u":"ug/m3\u0001"}}}`),
    ];
    // Every field of each kind at its limits and just outside them.
    for (const [device, kind] of [
      ['gw-a-air', 'air_station'],
      ['gw-a-light', 'street_light'],
      ['gw-a-traffic', 'traffic_counter'],
      ['gw-a-noise', 'noise_meter'],
    ] as const) {
      for (const [field, spec] of Object.entries(KIND_FIELDS[kind])) {
        for (const v of [spec.min, spec.max, spec.min - 0.5, spec.max + 1])
          odd.push(message(`{"device":"${device}","ts":1750000000000,"seq":7,"values":{"${field}":{"v":${v},"u":"${spec.unit}"}}}`));
      }
    }
    for (const text of odd) expectSame(text);
    // Rejections are the full way's, not lost to the scanner.
    expect(either(message(reading('"pm25":{"v":1,"u":"mg/m3"}'))).rejections.map((r) => r.code)).toEqual(['wrong_unit']);
    expect(either(GOOD.slice(0, -1)).rejections.map((r) => r.code)).toEqual(['malformed_json']);
  });
});
