import type Database from 'better-sqlite3';

/**
 * One INSERT of many rows (`INSERT … VALUES (…), (…), …`), prepared once per row count and reused.
 * Each statement execution crosses from JS into SQLite and back; for small rows that crossing, not the
 * B-tree work, was most of the cost of a row (bench/store/RESULTS.md, "multi-row").
 */
export class MultiRowStatement {
  private readonly byRows = new Map<number, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly head: string,
    private readonly paramsPerRow: number,
    /** Rows per statement; SQLite allows 32 766 parameters per statement. */
    readonly maxRows: number,
    private readonly tail = '',
  ) {}

  private statement(rows: number): Database.Statement {
    let s = this.byRows.get(rows);
    if (!s) {
      const row = `(${new Array(this.paramsPerRow).fill('?').join(',')})`;
      s = this.db.prepare(`${this.head} VALUES ${new Array(rows).fill(row).join(',')} ${this.tail}`);
      this.byRows.set(rows, s);
    }
    return s;
  }

  /** Runs `params` (rows × paramsPerRow values, row after row) as one statement; returns the rows changed. */
  run(params: unknown[]): number {
    return this.runWithRowid(params).changes;
  }

  /** As run, with the rowid of the last row inserted (an INSERT's rows take consecutive rowids). */
  runWithRowid(params: unknown[]): { changes: number; lastRowid: number } {
    const rows = params.length / this.paramsPerRow;
    if (rows === 0) return { changes: 0, lastRowid: 0 };
    const { changes, lastInsertRowid } = this.statement(rows).run(params);
    return { changes, lastRowid: Number(lastInsertRowid) };
  }

  /** Runs any number of rows, maxRows per statement. */
  runAll(params: unknown[]): void {
    const chunk = this.maxRows * this.paramsPerRow;
    if (params.length <= chunk) {
      this.run(params);
      return;
    }
    for (let i = 0; i < params.length; i += chunk) this.run(params.slice(i, i + chunk));
  }
}
