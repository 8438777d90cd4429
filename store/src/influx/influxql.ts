/** InfluxQL identifier: double-quoted, inner backslashes and quotes escaped. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** InfluxQL string literal: single-quoted, inner backslashes and quotes escaped. */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** Epoch ms as an InfluxQL time literal. */
export function timeLiteral(ms: number): string {
  return `${Math.trunc(ms)}ms`;
}

/** `("device" = 'a' OR "device" = 'b')` */
export function anyOf(tag: string, values: string[]): string {
  return `(${values.map((v) => `${quoteIdentifier(tag)} = ${quoteString(v)}`).join(' OR ')})`;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface QueryResponse {
  results?: Array<{ statement_id?: number; series?: InfluxSeries[]; error?: string }>;
  error?: string;
}

/** The series of the first statement of a /query answer; an error in the answer is thrown. */
export function seriesOf(body: unknown): InfluxSeries[] {
  const r = body as QueryResponse;
  if (r.error) throw new Error(`InfluxDB query failed: ${r.error}`);
  const first = r.results?.[0];
  if (first?.error) throw new Error(`InfluxDB query failed: ${first.error}`);
  return first?.series ?? [];
}
