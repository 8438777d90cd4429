import type { Aggregate } from '@tamky/protocol';
import { quoteIdentifier } from './influxql';

export const HOUR_MS = 3_600_000;

/** The one aggregation the continuous query keeps per field and hour: enough to answer every Aggregate exactly. */
export const DOWNSAMPLE_SELECT = 'SELECT sum(*), count(*), min(*), max(*), last(*)';

/** Continuous query name on the database. */
export const CQ_NAME = 'tamky_downsample_1h';

export function continuousQuery(db: string, rawRp: string, rp: string): string {
  const d = quoteIdentifier(db);
  return (
    `CREATE CONTINUOUS QUERY ${quoteIdentifier(CQ_NAME)} ON ${d} RESAMPLE EVERY 1h FOR 2h BEGIN ` +
    `${DOWNSAMPLE_SELECT} INTO ${d}.${quoteIdentifier(rp)}.:MEASUREMENT FROM ${d}.${quoteIdentifier(rawRp)}./.*/ GROUP BY time(1h), * END`
  );
}

/** The CQ's SELECT over a past range, for backfilling hours written before the CQ existed (or late). */
export function backfillQuery(db: string, rawRp: string, rp: string, from: number, to: number): string {
  const d = quoteIdentifier(db);
  return `${DOWNSAMPLE_SELECT} INTO ${d}.${quoteIdentifier(rp)}.:MEASUREMENT FROM ${d}.${quoteIdentifier(rawRp)}./.*/ WHERE time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to)}ms GROUP BY time(1h), *`;
}

/** The select list reading `aggregate` of `field` from hourly rows (weighted mean: sum of sums over sum of counts). */
export function downsampledSelect(field: string, aggregate: Aggregate): string {
  const col = (prefix: string) => quoteIdentifier(`${prefix}_${field}`);
  const expr: Record<Aggregate, string> = {
    mean: `sum(${col('sum')}) / sum(${col('count')})`,
    sum: `sum(${col('sum')})`,
    count: `sum(${col('count')})`,
    min: `min(${col('min')})`,
    max: `max(${col('max')})`,
    last: `last(${col('last')})`,
  };
  return `${expr[aggregate]} AS ${quoteIdentifier(field)}`;
}
