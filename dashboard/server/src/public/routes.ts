import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { publicSummaryQuerySchema, publicSummarySchema, type PublicSummary } from '@tamky/protocol';
import type { Core } from '../core';
import { HttpError, parseInput, sendError } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { buildPublicSummary } from './summary';
import { createAddressLimiter } from './address-limiter';

interface Cached {
  body: string;
  /** The same body gzipped once per build: the crowd costs no compression work per request. */
  gzip: Buffer;
  etag: string;
  expires: number;
}

/**
 * The residents' endpoint: no sign-in, so it is built to be cheap under a crowd. One summary per ward
 * selection is built at most once per `cacheSeconds` (concurrent misses share the build) and served as the
 * same bytes with an ETag (304 on a match) and Cache-Control, so phones and proxies cache it too; each
 * client address is rate limited before anything else runs.
 */
export function publicRoutes(core: Core): RouteSpec[] {
  const config = core.config.public;
  const ttlMs = (config?.cacheSeconds ?? 30) * 1000;
  const limiter = createAddressLimiter(config?.perMinutePerAddress ?? 120, core.now);
  const cache = new Map<string, Cached>();
  const building = new Map<string, Promise<Cached>>();

  const build = async (ward: string | undefined): Promise<Cached> => {
    const full = buildPublicSummary(core.city, await core.store.latest(), core.limits, core.now(), config!);
    const summary: PublicSummary = ward ? { ...full, wards: full.wards.filter((w) => w.id === ward) } : full;
    const body = JSON.stringify(summary);
    return {
      body,
      gzip: gzipSync(body),
      etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
      expires: core.now() + ttlMs,
    };
  };

  const get = (ward: string | undefined): Promise<Cached> => {
    const key = ward ?? '';
    const hit = cache.get(key);
    if (hit && hit.expires > core.now()) return Promise.resolve(hit);
    let pending = building.get(key);
    if (!pending) {
      pending = build(ward).then(
        (c) => {
          cache.set(key, c);
          building.delete(key);
          return c;
        },
        (err: unknown) => {
          building.delete(key);
          throw err;
        },
      );
      building.set(key, pending);
    }
    return pending;
  };

  return [
    {
      method: 'get',
      path: '/public/summary',
      access: 'none',
      wards: 'none',
      summary:
        "Residents' summary, no sign-in: per public ward only the kinds and fields the config's `public:` section lists (VN_AQI with colour and advice, noise vs its limit, flood warning level); ?ward= for one; cached, ETag, rate limited per address",
      request: { query: publicSummaryQuerySchema },
      answer: publicSummarySchema,
      async handler(req, res) {
        if (!limiter.take(req.ip ?? 'unknown')) {
          res.setHeader('Retry-After', '60');
          return sendError(res, 429, 'rate_limited', 'too many requests from this address: try again in a minute');
        }
        if (!config) throw new HttpError(404, 'not_found', 'nothing is public on this dashboard');
        const { ward } = parseInput(publicSummaryQuerySchema, req.query, 'query');
        if (ward !== undefined && !(config.wards ?? core.city.wards.map((w) => w.id)).includes(ward))
          throw new HttpError(404, 'not_found', `ward ${ward} is not public`);
        const c = await get(ward);
        const maxAge = Math.max(0, Math.floor((c.expires - core.now()) / 1000));
        res.setHeader('Cache-Control', `public, max-age=${maxAge}`);
        res.setHeader('ETag', c.etag);
        res.setHeader('Vary', 'Accept-Encoding');
        if (req.get('if-none-match') === c.etag) return void res.status(304).end();
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        if (!req.acceptsEncodings('gzip')) return void res.send(c.body);
        // Set before sending, so the compression middleware leaves the pre-compressed bytes alone.
        res.setHeader('Content-Encoding', 'gzip');
        res.setHeader('Content-Length', String(c.gzip.length));
        res.end(c.gzip);
      },
    },
  ];
}
