import type { Aggregate } from '@tamky/protocol';

/** A PromQL/MetricsQL string literal (double-quoted; JSON's escapes are a subset PromQL reads the same way). */
export const quote = (s: string) => JSON.stringify(s);

export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The series name VictoriaMetrics gives a line-protocol field: `{measurement}_{field}`. */
export const metricName = (prefix: string, field: string) => `${prefix}${field}`;

/** A regex matching exactly these names (PromQL regex matchers are anchored). */
export const regexOf = (names: string[]) => names.map(escapeRegex).join('|');

/** Label matchers for a selector: `name` is a regex on the metric name; the others are exact. */
export function labelMatchers(f: { name: string; kind?: string; ward?: string; devices?: string[] }): string {
  const m = [`__name__=~${quote(f.name)}`];
  if (f.kind !== undefined) m.push(`kind=${quote(f.kind)}`);
  if (f.ward !== undefined) m.push(`ward=${quote(f.ward)}`);
  if (f.devices !== undefined) m.push(`device=~${quote(regexOf(f.devices))}`);
  return m.join(',');
}

const ROLLUPS: Record<Aggregate, string> = {
  mean: 'avg_over_time',
  min: 'min_over_time',
  max: 'max_over_time',
  last: 'last_over_time',
  sum: 'sum_over_time',
  count: 'count_over_time',
};

/** The rollup function computing `aggregate` over one window. */
export const aggregateFunction = (aggregate: Aggregate) => ROLLUPS[aggregate];
