import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import {
  fileAnswer,
  mapAnswerSchema,
  publicMapQuerySchema,
  publicSummaryQuerySchema,
  publicSummarySchema,
  type MapAnswer,
  type PublicSummary,
} from '@tamky/protocol';
import type { Core } from '../core';
import { sendError } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { wardAreasIn, type MapData } from '../map/map-data';
import { buildPublicSummary } from './summary';
import { createAddressLimiter } from './address-limiter';
import { createAnswerCache, type CachedAnswer } from './cached-answers';

/** Where residents' pages fetch a PMTiles basemap the dashboard serves (no sign-in, unlike the operators' copy). */
export const PUBLIC_PMTILES_PATH = '/public/basemap.pmtiles';

type Outcome = CachedAnswer | { status: number; error: string; message: string };

interface Endpoint {
  query: z.ZodObject;
  answer(query: Record<string, string>): Outcome | Promise<Outcome>;
}

export interface PublicSite {
  /** Route-table entries (docs, role matrix; express serves them when the fast path is not in front). */
  routes: RouteSpec[];
  /**
   * Serves GET/HEAD /api/public/summary and /api/public/map straight from the node:http request, before
   * express: no session lookup, body parsing, compression or per-request JSON work. False: not ours.
   */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface PublicSiteOptions {
  /** The caller's address (X-Forwarded-For only from trusted proxies). */
  clientAddress(req: IncomingMessage): string;
  /** Security headers every answer carries (as the rest of the API's). */
  headers: Readonly<Record<string, string>>;
}

/**
 * The residents' endpoints: no sign-in, so they are built to be cheap under a crowd. Each answer is built
 * at most once per `cacheSeconds` (concurrent misses share the build) and served as the same pre-serialised,
 * pre-gzipped bytes with an ETag (304 on a match) and Cache-Control, so phones and proxies cache it too;
 * each client address is rate limited (a token bucket) before anything else runs.
 */
export function createPublicSite(core: Core, mapData: MapData, opts: PublicSiteOptions): PublicSite {
  const config = core.config.public;
  const ttlMs = (config?.cacheSeconds ?? 30) * 1000;
  const limiter = createAddressLimiter(config?.perMinutePerAddress ?? 120, core.now);
  const publicWards = () => config?.wards ?? core.city.wards.map((w) => w.id);

  const summaries = createAnswerCache(ttlMs, core.now, async (ward): Promise<PublicSummary> => {
    const full = buildPublicSummary(core.city, await core.store.latest(), core.limits, core.now(), config!);
    return ward ? { ...full, wards: full.wards.filter((w) => w.id === ward) } : full;
  });
  const maps = createAnswerCache(ttlMs, core.now, (): MapAnswer =>
    mapAnswerSchema.parse({
      basemap: mapData.basemap.type === 'pmtiles' ? { ...mapData.basemap, url: `/api${PUBLIC_PMTILES_PATH}` } : mapData.basemap,
      // The public wards' outlines only (geography; what the city chose to show).
      wardAreas: wardAreasIn(mapData.wardAreas, publicWards()),
    }),
  );

  const nothingPublic = { status: 404, error: 'not_found', message: 'nothing is public on this dashboard' };
  const endpoints: Record<string, Endpoint> = {
    '/api/public/summary': {
      query: publicSummaryQuerySchema,
      answer: ({ ward }) => {
        if (!config) return nothingPublic;
        if (ward !== undefined && !publicWards().includes(ward))
          return { status: 404, error: 'not_found', message: `ward ${ward} is not public` };
        return summaries.get(ward ?? '');
      },
    },
    '/api/public/map': {
      query: publicMapQuerySchema,
      answer: () => (config ? maps.get('') : nothingPublic),
    },
  };

  const write = (res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer | string) => {
    for (const [k, v] of Object.entries(opts.headers)) res.setHeader(k, v);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.statusCode = status;
    res.end(body);
  };
  const fail = (res: ServerResponse, status: number, error: string, message: string, extra: Record<string, string> = {}) =>
    write(
      res,
      status,
      { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra },
      JSON.stringify({ error, message }),
    );

  const respond = async (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    if (!limiter.take(opts.clientAddress(req)))
      return fail(res, 429, 'rate_limited', 'too many requests from this address: try again in a minute', { 'Retry-After': '60' });
    const raw = search ? Object.fromEntries(new URLSearchParams(search)) : {};
    const parsed = endpoint.query.safeParse(raw);
    if (!parsed.success)
      return fail(res, 400, 'bad_request', parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
    const c = await endpoint.answer(parsed.data as Record<string, string>);
    if (!('etag' in c)) return fail(res, c.status, c.error, c.message);
    const headers: Record<string, string> = {
      'Cache-Control': `public, max-age=${Math.max(0, Math.floor((c.expires - core.now()) / 1000))}`,
      ETag: c.etag,
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === c.etag) return write(res, 304, headers);
    headers['Content-Type'] = 'application/json; charset=utf-8';
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const body = gzip ? c.gzip : c.body;
    if (gzip) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = String(body.length);
    write(res, 200, headers, req.method === 'HEAD' ? undefined : body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, search: string) =>
    respond(endpoint, req, res, search).catch((err: unknown) => {
      core.logger.error({ err, url: req.url }, 'public answer failed');
      if (!res.headersSent) fail(res, 500, 'internal', 'internal error');
      else res.destroy();
    });

  const routes: RouteSpec[] = [
    {
      method: 'get',
      path: '/public/summary',
      access: 'none',
      wards: 'none',
      summary:
        "Residents' summary, no sign-in: per public ward only the kinds and fields the config's `public:` section lists (VN_AQI with colour and advice, noise vs its limit, flood warning level); ?ward= for one; cached, ETag, rate limited per address",
      request: { query: publicSummaryQuerySchema },
      answer: publicSummarySchema,
      handler: (req, res) => handle(req, res, endpoints['/api/public/summary']!, new URL(req.originalUrl, 'http://x').search),
    },
    {
      method: 'get',
      path: '/public/map',
      access: 'none',
      wards: 'none',
      summary:
        "Residents' map, no sign-in: the basemap to draw and the outlines of the public wards only (GeoJSON); cached, ETag, rate limited per address",
      request: { query: publicMapQuerySchema },
      answer: mapAnswerSchema,
      handler: (req, res) => handle(req, res, endpoints['/api/public/map']!, new URL(req.originalUrl, 'http://x').search),
    },
  ];
  const file = mapData.pmtilesFile;
  if (file && config)
    routes.push({
      method: 'get',
      path: PUBLIC_PMTILES_PATH,
      access: 'none',
      // Basemap tiles of the whole area: geography, no ward's data.
      wards: 'none',
      summary: "The PMTiles basemap archive for the residents' map (HTTP range requests), rate limited per address",
      request: {},
      answer: fileAnswer,
      produces: 'application/vnd.pmtiles',
      handler: (req, res) =>
        new Promise<void>((done) => {
          if (!limiter.take(opts.clientAddress(req))) {
            res.setHeader('Retry-After', '60');
            sendError(res, 429, 'rate_limited', 'too many requests from this address: try again in a minute');
            return done();
          }
          res.sendFile(file, { acceptRanges: true, maxAge: '1h', headers: { 'Content-Type': 'application/vnd.pmtiles' } }, (err) => {
            if (err && !res.headersSent) sendError(res, 404, 'not_found', 'basemap archive unavailable');
            done();
          });
        }),
    });

  return {
    routes,
    serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const endpoint = endpoints[q < 0 ? url : url.slice(0, q)];
      if (!endpoint) return false;
      void handle(req, res, endpoint, q < 0 ? '' : url.slice(q));
      return true;
    },
  };
}
