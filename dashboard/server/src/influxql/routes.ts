import express, { type Request, type Response } from 'express';
import type { TimeSeriesStore } from '@tamky/protocol';
import type { Guard } from '../auth/guard';
import type { TokenAuth } from '../tokens/token-auth';
import { wardScopeOf } from '../readings/ward-scope';
import { MAX_RAW_SPAN_MS } from '../readings/history-query';
import { InfluxQLError } from './lexer';
import { parseInfluxQL } from './parser';
import { executeStatements, type StatementResult } from './execute';

/** The InfluxDB 1.x version this endpoint answers like (clients read it from /ping). */
export const COMPAT_VERSION = '1.8.10-tamky';
const MAX_WINDOWS = 100_000;
const WRITE_STATEMENTS = /^\s*(delete|drop|create|alter|grant|revoke|set|kill|insert|select\s[\s\S]*\binto\b)/i;

const EPOCH_DIVISOR: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Go's RFC3339Nano, as InfluxDB prints times when no `epoch` is asked for. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, d: string) => (d ? `.${d}Z` : 'Z'));
}

/**
 * Times in the unit of `epoch`; u and ns exceed what a JSON double holds exactly, so they are written as
 * integer text (the answer is built as text for that reason).
 */
function serialise(results: StatementResult[], epoch: string | undefined): string {
  const exact: string[] = [];
  const time = (ms: number): number | string => {
    if (!epoch) return rfc3339(ms);
    if (epoch === 'u' || epoch === 'ns') {
      exact.push((BigInt(Math.round(ms)) * (epoch === 'u' ? 1000n : 1_000_000n)).toString());
      return `\u0000${exact.length - 1}`;
    }
    return Math.floor(ms / (EPOCH_DIVISOR[epoch] ?? 1));
  };
  for (const r of results)
    for (const s of r.series ?? []) if (s.columns[0] === 'time') for (const row of s.values) row[0] = time(row[0] as number);
  return JSON.stringify({ results }).replace(/"\\u0000(\d+)"/g, (_m, i: string) => exact[Number(i)]!);
}

/**
 * InfluxDB 1.x's `/query` and `/ping` on the dashboard's port, so a city's Grafana (built-in InfluxDB data
 * source, InfluxQL) and the `influx` CLI read whichever store is configured, with an API token of scope
 * read:readings (as the password, a bearer token, or `p`). Read-only.
 */
export function influxCompatRouter(opts: {
  store: TimeSeriesStore;
  guard: Guard;
  tokenAuth: TokenAuth;
  database: string;
  now: () => number;
}): express.Router {
  const router = express.Router();
  router.get('/ping', (_req, res) => {
    res.setHeader('X-Influxdb-Version', COMPAT_VERSION);
    res.setHeader('X-Influxdb-Build', 'OSS');
    res.status(204).end();
  });
  const unauthorised: express.RequestHandler = (req, res, next) => {
    // A signed-in person may try queries from the browser; other systems use a token.
    if (opts.guard.sessionFromRequest(req)) return opts.guard.loadSession(req, res, () => opts.guard.requireRole('viewer')(req, res, next));
    res.status(401).json({ error: 'authorization failed' });
  };
  const handle = async (req: Request, res: Response) => {
    res.setHeader('X-Influxdb-Version', COMPAT_VERSION);
    const params = {
      ...(req.query as Record<string, unknown>),
      ...(typeof req.body === 'object' && req.body ? (req.body as Record<string, unknown>) : {}),
    };
    const q = typeof params.q === 'string' ? params.q : '';
    if (!q.trim()) return void res.status(400).json({ error: 'missing required parameter "q"' });
    if (WRITE_STATEMENTS.test(q) || q.split(';').some((part) => WRITE_STATEMENTS.test(part))) {
      return void res.status(403).json({ error: 'error authorizing query: this endpoint is read-only' });
    }
    let statements;
    try {
      statements = parseInfluxQL(q);
    } catch (err) {
      if (err instanceof InfluxQLError) return void res.status(400).json({ error: `error parsing query: ${err.message}` });
      throw err;
    }
    const db = typeof params.db === 'string' ? params.db : '';
    const needsDb = statements.some((s) => s.type === 'select' || (s.what !== 'databases' && s.what !== 'retention policies'));
    let results: StatementResult[];
    if (needsDb && db !== opts.database) {
      results = statements.map((_s, i) => ({ statement_id: i, error: db ? `database not found: ${db}` : 'database name required' }));
    } else {
      const wards = wardScopeOf(res);
      results = await executeStatements(statements, {
        store: opts.store,
        now: opts.now(),
        ...(wards ? { wards } : {}),
        database: opts.database,
        maxRawSpanMs: MAX_RAW_SPAN_MS,
        maxWindows: MAX_WINDOWS,
      });
    }
    const epoch = typeof params.epoch === 'string' && ['h', 'm', 's', 'ms', 'u', 'ns'].includes(params.epoch) ? params.epoch : undefined;
    res.setHeader('Content-Type', 'application/json');
    res.send(serialise(results, epoch));
  };
  const auth = opts.tokenAuth.allow('read:readings', unauthorised);
  router.get('/query', auth, handle);
  router.post('/query', express.urlencoded({ extended: false, limit: '256kb' }), auth, handle);
  return router;
}
