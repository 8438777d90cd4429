import { timingSafeEqual } from 'node:crypto';
import type express from 'express';
import type { Registry } from 'prom-client';
import { serveMetrics } from '@tamky/service-kit';
import { sendError } from './errors';

/**
 * Where /metrics is served (see `metrics` in the config): on its own listener, or on the dashboard port
 * behind a bearer token, or nowhere. Never anonymously on the public port: it names routes, modules and
 * load, which helps a probe more than it helps anyone outside operations.
 */
export async function metricsEndpoint(
  app: express.Express,
  registry: Registry,
  cfg: { port?: number | undefined; host: string; token?: string | undefined },
): Promise<{ port: number; close(): Promise<void> } | undefined> {
  if (cfg.port !== undefined) return serveMetrics([registry], cfg.port, cfg.host);
  const token = cfg.token;
  if (!token) return undefined;
  const expected = Buffer.from(`Bearer ${token}`);
  app.get('/metrics', async (req, res) => {
    const given = Buffer.from(req.get('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return sendError(res, 401, 'unauthenticated', 'metrics need Authorization: Bearer <metrics.token>');
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return undefined;
}
