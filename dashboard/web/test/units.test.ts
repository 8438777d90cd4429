import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadLimits } from '@tamky/service-kit';
import { aqiBand, contrast, textOn } from '../src/lib/aqi';
import { RANGES, rangeQuery } from '../src/lib/ranges';
import { sunTimes } from '../src/lib/sun';
import { reconnectDelay } from '../src/live/feed';
import { createI18n } from '../src/i18n/i18n';
import { en, vi } from '../src/i18n/dict';
import { placeLabels } from '../src/lib/labels';

describe('VN_AQI bands', () => {
  const levels = loadLimits(fileURLToPath(new URL('../../../config/limits', import.meta.url))).vnAqi.levels;

  it('follow the boundaries of the served levels (upper bounds inclusive, after rounding)', () => {
    expect([0, 50, 50.4, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500, 650].map((v) => aqiBand(levels, v).id)).toEqual([
      'good',
      'good',
      'good',
      'moderate',
      'moderate',
      'poor',
      'poor',
      'bad',
      'bad',
      'very_bad',
      'very_bad',
      'hazardous',
      'hazardous',
      'hazardous',
    ]);
    expect(new Set(levels.map((l) => aqiBand(levels, l.max).icon)).size).toBe(levels.length);
  });

  it('put text on every colour of config/limits/vn-aqi.yaml that passes WCAG AA (4.5:1)', () => {
    for (const level of levels) {
      const text: [number, number, number] = textOn(level.rgb) === '#000' ? [0, 0, 0] : [255, 255, 255];
      expect(contrast(level.rgb, text), level.id).toBeGreaterThanOrEqual(4.5);
    }
  });
});

describe('chart ranges', () => {
  it('keep every range at or under ~500 points per series', () => {
    for (const [key, r] of Object.entries(RANGES)) {
      const q = rangeQuery(key as keyof typeof RANGES, Date.UTC(2026, 0, 1, 3, 17));
      expect((q.to - q.from) / q.windowMs, key).toBeLessThanOrEqual(500);
      expect(q.to - q.from).toBe(r.spanMs);
      expect(q.to % q.windowMs).toBe(0);
    }
  });
});

describe('sun times for Tam Kỳ (15.57 N, 108.47 E)', () => {
  it('agree with the suncalc library within 3 minutes', () => {
    // Reference values computed with suncalc 1.9 for the city centre (local time, UTC+7).
    const local = (iso: string) => Date.parse(`${iso}+07:00`);
    const cases = [
      ['2026-06-21', '05:17:28', '18:20:36'],
      ['2026-12-21', '06:09:10', '17:21:14'],
      ['2026-11-26', '05:55:23', '17:14:04'],
    ] as const;
    for (const [day, rise, set] of cases) {
      const sun = sunTimes(local(`${day}T12:00:00`), 15.5736, 108.474)!;
      expect(Math.abs(sun.sunrise - local(`${day}T${rise}`)), `${day} sunrise`).toBeLessThan(3 * 60_000);
      expect(Math.abs(sun.sunset - local(`${day}T${set}`)), `${day} sunset`).toBeLessThan(3 * 60_000);
    }
  });
});

describe('live feed reconnect backoff', () => {
  it('grows from about a second and never exceeds 30 s', () => {
    expect(reconnectDelay(0)).toBeGreaterThanOrEqual(500);
    expect(reconnectDelay(0)).toBeLessThanOrEqual(1000);
    for (let i = 0; i < 40; i++) expect(reconnectDelay(i)).toBeLessThanOrEqual(30_000);
    expect(reconnectDelay(20)).toBeGreaterThanOrEqual(15_000);
  });
});

describe('i18n', () => {
  it('has every Vietnamese key in English and formats in vi-VN, Asia/Ho_Chi_Minh', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
    const i = createI18n('vi', () => undefined);
    expect(i.num(1234.5)).toBe('1.234,5');
    expect(i.time(Date.UTC(2026, 0, 1, 17, 5))).toBe('00:05');
    expect(i.ago(Date.now() - 3 * 60_000)).toBe('3 phút trước');
    expect(i.t('live.stale', { age: i.duration(5 * 60_000) })).toBe('Dữ liệu cũ 5 phút');
    const e = createI18n('en', () => undefined);
    expect(e.t('live.stale', { age: e.duration(5 * 60_000) })).toBe('Data is 5 minutes old');
  });
});

describe('map labels', () => {
  it('do not overlap each other when wards are close', () => {
    const points = [
      { id: 'a', x: 40, y: 55, text: 'An Mỹ' },
      { id: 'b', x: 33, y: 60, text: 'An Xuân' },
      { id: 'c', x: 37, y: 66, text: 'Phước Hòa' },
      { id: 'd', x: 36, y: 45, text: 'An Sơn' },
    ];
    const placed = placeLabels(points, 1.9, 4.1);
    const boxes = points.map((p) => {
      const l = placed.get(p.id)!;
      const w = p.text.length * 1.9 * 0.56;
      const x0 = l.anchor === 'middle' ? l.x - w / 2 : l.anchor === 'start' ? l.x : l.x - w;
      return { x0, x1: x0 + w, y0: l.y - 1.9, y1: l.y };
    });
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        expect(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1, `${points[i]!.id}/${points[j]!.id}`).toBe(false);
      }
  });
});

describe('chart data (what a line chart is given)', () => {
  const columnsOf = (rows: Array<Record<string, number | undefined>>, names: string[]) => ({
    ts: Float64Array.from(rows, (r) => r.ts!),
    names,
    values: names.map((n) => Float64Array.from(rows, (r) => r[n] ?? NaN)),
  });
  const column = (data: { names: string[]; values: Float64Array[] }, name: string) => [...data.values[data.names.indexOf(name)]!];

  it('decimation bounds the rows and keeps every series peak and trough', async () => {
    const { decimate } = await import('../src/lib/chart-rows');
    const rows = Array.from({ length: 1440 }, (_, i) => ({ ts: i * 60_000, a: Math.sin(i / 30) * 10, b: i === 777 ? 999 : i % 7 }));
    const out = decimate(columnsOf(rows, ['a', 'b']), 500);
    expect(out.ts.length).toBeLessThanOrEqual(500);
    expect(out.values.every((c) => c.length === out.ts.length)).toBe(true);
    expect(Math.max(...column(out, 'b'))).toBe(999);
    expect(Math.min(...column(out, 'a'))).toBeCloseTo(Math.min(...rows.map((r) => r.a)), 6);
    expect(decimate(columnsOf(rows.slice(0, 300), ['a', 'b']), 500).ts).toHaveLength(300);
  });

  it('a series without values in a bucket stays without (NaN, never 0)', async () => {
    const { decimate } = await import('../src/lib/chart-rows');
    const rows = Array.from({ length: 100 }, (_, i) => (i < 50 ? { ts: i, a: 5 } : { ts: i, a: 6, b: 7 }));
    const out = decimate(columnsOf(rows, ['a', 'b']), 10);
    expect(column(out, 'b').slice(0, 4).every(Number.isNaN)).toBe(true);
    expect(column(out, 'b').at(-1)).toBe(7);
    expect(column(out, 'a').some(Number.isNaN)).toBe(false);
  });

  it('series become columns on one time axis, in order, with holes where a series has no point', async () => {
    const { toColumns, rowValues, lastValue } = await import('../src/lib/chart-rows');
    const data = toColumns(
      [
        {
          device: 'x',
          ward: 'w',
          field: 'f',
          points: [
            [20, 2],
            [10, 1],
          ],
        },
        {
          device: 'y',
          ward: 'w',
          field: 'f',
          points: [
            [30, 3],
            [10, 4],
          ],
        },
      ],
      (s) => s.device,
    );
    expect([...data.ts]).toEqual([10, 20, 30]);
    expect(data.names).toEqual(['x', 'y']);
    expect(column(data, 'x')).toEqual([1, 2, NaN]);
    expect(column(data, 'y')).toEqual([4, NaN, 3]);
    expect([...rowValues(data, 1)]).toEqual([['x', 2]]);
    expect(lastValue(data, 0)).toBe(2);
    expect(lastValue(data, 1)).toBe(3);
  });

  it('series at the same times become the same columns as through the union of times', async () => {
    const { toColumns } = await import('../src/lib/chart-rows');
    const at = (device: string, field: string, values: number[], times = [10, 20, 30]) => ({
      device,
      ward: 'w',
      field,
      points: times.map((t, i) => [t, values[i]!] as [number, number]),
    });
    // Shared times (the fast path), a repeated name (the later series wins), and the same with one time missing.
    const shared = toColumns([at('x', 'f', [1, 2, 3]), at('y', 'f', [4, 5, 6]), at('x', 'g', [7, 8, 9])], (s) => s.device);
    expect([...shared.ts]).toEqual([10, 20, 30]);
    expect(shared.names).toEqual(['x', 'y']);
    expect(column(shared, 'x')).toEqual([7, 8, 9]);
    expect(column(shared, 'y')).toEqual([4, 5, 6]);
    const holed = toColumns([at('x', 'f', [1, 2, 3]), at('y', 'f', [4, 6], [10, 30])], (s) => s.device);
    expect([...holed.ts]).toEqual([10, 20, 30]);
    expect(column(holed, 'y')).toEqual([4, NaN, 6]);
    expect(column(holed, 'x')).toEqual([1, 2, 3]);
  });

  it('affine axes are applied as arithmetic, other scales point by point', async () => {
    const { affineOf } = await import('../src/components/SeriesLines');
    const linear = (v: number) => 5 + 2 * v;
    expect(affineOf(linear, 0, 100)).toEqual({ a: 5, b: 2 });
    expect(affineOf((v) => Math.log10(v), 1, 1000)).toBeUndefined();
    expect(affineOf(linear, 3, 3)).toBeUndefined(); // one value: nothing to fit
    expect(affineOf(() => undefined, 0, 1)).toBeUndefined();
  });

  it('the row under the pointer is the nearest time, ties to the earlier', async () => {
    const { nearestRow } = await import('../src/components/ChartPointer');
    const times = Float64Array.from([10, 20, 40]);
    expect([0, 10, 14, 15, 16, 29, 31, 40, 99].map((t) => nearestRow(times, t))).toEqual([0, 0, 0, 0, 1, 1, 2, 2, 2]);
    expect(nearestRow(new Float64Array(0), 5)).toBe(-1);
    expect(nearestRow(times, Number.NaN)).toBe(-1);
  });

  it('never more rows than the chart has pixels, for any width and any answer', async () => {
    const { chartColumns } = await import('../src/lib/chart-rows');
    // 52 series of a day in minutes, with ragged timestamps so the union of times is larger than any one series.
    const series = Array.from({ length: 52 }, (_, d) => ({
      device: `d${d}`,
      ward: 'w',
      field: 'laeq',
      points: Array.from({ length: 1440 }, (_, i) => [i * 60_000 + (d % 3) * 1000, 50 + ((i + d) % 13)] as [number, number]),
    }));
    for (const width of [1, 2, 3, 39, 40, 320, 1023, 1440, 4321, 5000]) {
      const data = chartColumns(series, (s) => s.device, width);
      expect(data.ts.length, `width ${width}`).toBeLessThanOrEqual(width);
      expect(data.ts.length, `width ${width}`).toBeGreaterThan(0);
      // Every series still has a point to draw.
      for (const s of series) expect(column(data, s.device).some((v) => !Number.isNaN(v))).toBe(true);
    }
    expect(chartColumns([], (s) => s.device, 100).ts).toHaveLength(0);
  });

  it('the value axis holds every value on whole tick steps, from 0 unless values go below', async () => {
    const { valueDomain } = await import('../src/lib/chart-rows');
    expect(
      valueDomain(
        columnsOf(
          [
            { ts: 0, a: 13 },
            { ts: 1, a: 97.2, b: 40 },
          ],
          ['a', 'b'],
        ),
      ),
    ).toEqual([0, 100]);
    expect(
      valueDomain(
        columnsOf(
          [
            { ts: 0, a: -3 },
            { ts: 1, a: 7 },
          ],
          ['a'],
        ),
      ),
    ).toEqual([-5, 7.5]);
    expect(valueDomain(columnsOf([{ ts: 0, a: 1234 }], ['a', 'missing']))).toEqual([0, 1500]);
    expect(valueDomain(columnsOf([], ['a']))).toEqual([0, 1]);
  });

  it('time ticks fall on round local times and leave room for their labels', async () => {
    const { timeTicks } = await import('../src/lib/time-ticks');
    const HOUR = 3_600_000;
    const to = Date.UTC(2026, 11, 7, 9, 20);
    for (const [span, width] of [
      [HOUR, 300],
      [24 * HOUR, 1520],
      [24 * HOUR, 400],
      [7 * 24 * HOUR, 1200],
      [30 * 24 * HOUR, 900],
    ] as const) {
      const ticks = timeTicks(to - span, to, width, 'Asia/Ho_Chi_Minh');
      expect(ticks.length, `${span} ${width}`).toBeGreaterThanOrEqual(2);
      expect(ticks.length, `${span} ${width}`).toBeLessThanOrEqual(Math.floor(width / 80));
      for (const t of ticks) expect(t >= to - span && t <= to).toBe(true);
      // Round in local time (UTC+7): whole minutes; ticks a day or more apart at local midnight.
      const step = ticks[1]! - ticks[0]!;
      for (const t of ticks) expect(((t + 7 * HOUR) % Math.min(step, 24 * HOUR)) % 60_000).toBe(0);
      if (step >= 24 * HOUR) for (const t of ticks) expect((t + 7 * HOUR) % (24 * HOUR)).toBe(0);
    }
  });
});
