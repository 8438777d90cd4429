import { describe, expect, it } from 'vitest';
import { seriesToColumns, type Series } from '@tamky/protocol';
import { historyAnswerJson, historyAnswerPieces } from '../src/readings/history-json';

describe('historyAnswerJson', () => {
  it('writes what JSON.stringify writes for the same series as points', () => {
    const series: Series[] = [
      {
        device: 'a "quoted" \\ device',
        ward: 'hòa-thuận',
        field: 'laeq',
        points: [
          [1_700_000_000_000, 56.333333333333336],
          [1_700_000_060_000, -0],
          [1_700_000_120_000, 1e-7],
        ],
      },
      {
        device: 'b',
        ward: '',
        field: 'pm2.5',
        points: [
          [0, Number.NaN],
          [1, Number.POSITIVE_INFINITY],
          [2, 2 ** 53 + 2],
        ],
      },
      { device: 'c', ward: 'w', field: 'x', points: [] },
      {
        device: 'd',
        ward: 'w',
        field: 'x',
        points: [
          [5, 1],
          [6, 2],
        ],
        clock: [[6, 'corrected']],
      },
    ];
    expect(historyAnswerJson(series.map(seriesToColumns))).toBe(JSON.stringify({ series }));
    expect(historyAnswerJson([])).toBe(JSON.stringify({ series: [] }));
    // A windowed answer says its window, and a window's clock mark passes through as a point's does.
    expect(historyAnswerJson(series.map(seriesToColumns), 300_000)).toBe(JSON.stringify({ series, windowMs: 300_000 }));
    // In pieces of any size, the same text.
    for (const per of [1, 2, 3, 4, 10])
      expect([...historyAnswerPieces(series.map(seriesToColumns), 300_000, per)].join('')).toBe(
        JSON.stringify({ series, windowMs: 300_000 }),
      );
    expect([...historyAnswerPieces([], undefined, 2)].join('')).toBe(JSON.stringify({ series: [] }));
  });
});
