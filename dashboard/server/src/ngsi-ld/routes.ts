import express, { type Request, type Response } from 'express';
import { UNITS, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import type { Guard } from '../auth/guard';
import { NGSI_LD_CONTEXT, toNgsiLd } from '../export/ngsi-ld';
import { cityInWards, wardScopeOf } from '../readings/ward-scope';
import { MAX_RAW_SPAN_MS } from '../readings/history-query';
import type { TokenAuth } from '../tokens/token-auth';
import { TEMPORAL_ATTRIBUTES } from './temporal-attributes';

/**
 * A read-only NGSI-LD API (ETSI GS CIM 009) over the current state and the store's history, so a FIWARE
 * context broker or the provincial IOC can pull entities named after Smart Data Models: query and retrieve
 * entities (normalized or keyValues), list types, and the temporal API for history.
 */
type Entity = Record<string, unknown>;
const ERR = 'https://uri.etsi.org/ngsi-ld/errors/';
const CORE_CONTEXT = NGSI_LD_CONTEXT[NGSI_LD_CONTEXT.length - 1]!;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

class NgsiError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
  }
}

function problem(res: Response, e: NgsiError): void {
  res
    .status(e.status)
    .type('application/json')
    .send(JSON.stringify({ type: `${ERR}${e.kind}`, title: e.title, detail: e.message }));
}
const badRequest = (detail: string) => new NgsiError(400, 'BadRequestData', 'Bad request data', detail);

const list = (v: unknown) =>
  typeof v === 'string' && v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
const options = (req: Request) => new Set([...(list(req.query.options) ?? []), ...(req.query.format ? [String(req.query.format)] : [])]);

/** keyValues (simplified): each attribute's value only, as Smart Data Models' JSON schemas describe entities. */
export function simplified(e: Entity): Entity {
  const out: Entity = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'id' || k === 'type' || k === '@context') out[k] = v;
    else if (v && typeof v === 'object' && 'type' in v) {
      const a = v as { type: string; value?: unknown; object?: unknown };
      const value = a.type === 'Relationship' ? a.object : a.value;
      out[k] = value && typeof value === 'object' && '@value' in (value as object) ? (value as { '@value': unknown })['@value'] : value;
    } else out[k] = v;
  }
  return out;
}

function pickAttrs(e: Entity, attrs: string[] | undefined): Entity {
  if (!attrs) return e;
  const out: Entity = { id: e.id, type: e.type };
  if (e['@context']) out['@context'] = e['@context'];
  for (const a of attrs) if (a in e) out[a] = e[a];
  return out;
}

export function ngsiLdRouter(opts: {
  store: TimeSeriesStore;
  city: () => CityModel;
  guard: Guard;
  tokenAuth: TokenAuth;
  aqiLevel: (v: number) => string;
  now: () => number;
}): express.Router {
  const router = express.Router();
  const signedIn: express.RequestHandler = (req, res, next) => {
    if (opts.guard.sessionFromRequest(req)) return opts.guard.loadSession(req, res, () => opts.guard.requireRole('viewer')(req, res, next));
    problem(
      res,
      new NgsiError(401, 'NoAuthorization', 'Unauthorized', 'an API token with read:readings is required (Authorization: Bearer …)'),
    );
  };
  router.use(opts.tokenAuth.allow('read:readings', signedIn));

  const entities = async (res: Response): Promise<Entity[]> => {
    const wards = wardScopeOf(res);
    const latest = (await opts.store.latest()).filter((r) => !wards || wards.includes(r.ward));
    return toNgsiLd(cityInWards(opts.city(), wards), latest, opts.aqiLevel);
  };

  /** As JSON-LD with @context in each entity when asked for, else JSON with the context in a Link header. */
  const send = (req: Request, res: Response, body: Entity | Entity[], keyValues: boolean) => {
    const ld =
      req.accepts(['application/json', 'application/ld+json']) === 'application/ld+json' &&
      (req.get('accept') ?? '').includes('application/ld+json');
    const shape = (e: Entity) => {
      const { '@context': ctx, ...rest } = keyValues ? simplified(e) : e;
      return ld ? { ...rest, '@context': ctx ?? NGSI_LD_CONTEXT } : rest;
    };
    if (!ld) res.setHeader('Link', `<${CORE_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`);
    res.type(ld ? 'application/ld+json' : 'application/json').send(JSON.stringify(Array.isArray(body) ? body.map(shape) : shape(body)));
  };

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: express.NextFunction) =>
    fn(req, res).catch((err) => (err instanceof NgsiError ? problem(res, err) : next(err)));

  const paging = (req: Request) => {
    const limit = req.query.limit === undefined ? DEFAULT_LIMIT : Number(req.query.limit);
    const offset = req.query.offset === undefined ? 0 : Number(req.query.offset);
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) throw badRequest(`limit must be an integer from 0 to ${MAX_LIMIT}`);
    if (!Number.isInteger(offset) || offset < 0) throw badRequest('offset must be a non-negative integer');
    return { limit, offset };
  };

  const matching = async (req: Request, res: Response) => {
    const types = list(req.query.type);
    const ids = list(req.query.id);
    const idPattern = typeof req.query.idPattern === 'string' ? req.query.idPattern : undefined;
    const attrs = list(req.query.attrs);
    if (!types && !ids && !idPattern && !attrs) throw badRequest('one of type, id, idPattern or attrs is required');
    let pattern: RegExp | undefined;
    try {
      pattern = idPattern ? new RegExp(idPattern) : undefined;
    } catch {
      throw badRequest(`idPattern is not a valid regular expression: ${idPattern}`);
    }
    return (await entities(res)).filter(
      (e) =>
        (!types || types.includes(String(e.type))) &&
        (!ids || ids.includes(String(e.id))) &&
        (!pattern || pattern.test(String(e.id))) &&
        (!attrs || attrs.some((a) => a in e)),
    );
  };

  router.get(
    '/entities',
    handle(async (req, res) => {
      const { limit, offset } = paging(req);
      const found = await matching(req, res);
      if (req.query.count === 'true') res.setHeader('NGSILD-Results-Count', String(found.length));
      send(
        req,
        res,
        found.slice(offset, offset + limit).map((e) => pickAttrs(e, list(req.query.attrs))),
        options(req).has('keyValues') || options(req).has('simplified'),
      );
    }),
  );
  router.get(
    '/entities/:id',
    handle(async (req, res) => {
      const e = (await entities(res)).find((x) => x.id === req.params.id);
      if (!e) throw new NgsiError(404, 'ResourceNotFound', 'Entity Not Found', `no entity ${req.params.id}`);
      send(req, res, pickAttrs(e, list(req.query.attrs)), options(req).has('keyValues') || options(req).has('simplified'));
    }),
  );
  router.get(
    '/types',
    handle(async (_req, res) => {
      const types = [...new Set((await entities(res)).map((e) => String(e.type)))].sort();
      res
        .type('application/json')
        .send(JSON.stringify({ id: 'urn:ngsi-ld:EntityTypeList:tamky', type: 'EntityTypeList', typeList: types }));
    }),
  );

  // Temporal API: each attribute as its instances over time (or `temporalValues`: [value, time] pairs).
  const temporal = handle(async (req, res) => {
    const timerel = String(req.query.timerel ?? '');
    const at = Date.parse(String(req.query.timeAt ?? ''));
    const end = Date.parse(String(req.query.endTimeAt ?? ''));
    if (!['before', 'after', 'between'].includes(timerel) || !Number.isFinite(at))
      throw badRequest('timerel (before, after, between) and timeAt (ISO 8601) are required');
    if (timerel === 'between' && !(Number.isFinite(end) && end > at)) throw badRequest('timerel=between needs endTimeAt after timeAt');
    const now = opts.now();
    const from = timerel === 'before' ? now - MAX_RAW_SPAN_MS : at;
    const to = timerel === 'between' ? end : timerel === 'before' ? at : now;
    if (to - from > MAX_RAW_SPAN_MS) throw badRequest(`the temporal API answers at most ${MAX_RAW_SPAN_MS / 86_400_000} days per request`);
    const lastN = req.query.lastN === undefined ? undefined : Number(req.query.lastN);
    if (lastN !== undefined && !(Number.isInteger(lastN) && lastN > 0)) throw badRequest('lastN must be a positive integer');
    const temporalValues = options(req).has('temporalValues');
    const single = typeof req.params.id === 'string' ? req.params.id : undefined;
    const targets = single ? (await entities(res)).filter((e) => e.id === single) : await matching(req, res);
    if (single && !targets.length) throw new NgsiError(404, 'ResourceNotFound', 'Entity Not Found', `no entity ${single}`);
    const { limit, offset } = paging(req);
    const wanted = list(req.query.attrs);
    const out: Entity[] = [];
    for (const e of single ? targets : targets.slice(offset, offset + limit)) {
      const m = /^urn:ngsi-ld:[^:]+:(.+?)(?:-(?:lamp|lane)(\d+))?$/.exec(String(e.id));
      const device = m?.[1];
      const part = m?.[2] ?? '1';
      const attrs = TEMPORAL_ATTRIBUTES[String(e.type)] ?? {};
      const entity: Entity = { id: e.id, type: e.type };
      for (const [name, spec] of Object.entries(attrs)) {
        if (!device || (wanted && !wanted.includes(name))) continue;
        const fields = spec.fields.map((f) => f.replace('{n}', part));
        const series = await opts.store.query({ kind: spec.kind, fields, from, to, devices: [device] });
        const byTs = new Map<number, number>();
        for (const s of series) for (const [ts, v] of s.points) byTs.set(ts, (byTs.get(ts) ?? 0) + v);
        let points = [...byTs.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([ts, v]): [number, number] => [ts, spec.scale ? v * spec.scale : v]);
        if (lastN !== undefined) points = points.slice(-lastN);
        if (!points.length) continue;
        const unitCode = spec.unit ? UNITS[spec.unit].cefact : undefined;
        entity[name] = temporalValues
          ? { type: 'Property', values: points.map(([ts, v]) => [v, new Date(ts).toISOString()]), ...(unitCode ? { unitCode } : {}) }
          : points.map(([ts, v]) => ({
              type: 'Property',
              value: v,
              observedAt: new Date(ts).toISOString(),
              ...(unitCode ? { unitCode } : {}),
            }));
      }
      out.push(entity);
    }
    send(req, res, single ? out[0]! : out, false);
  });
  router.get('/temporal/entities', temporal);
  router.get('/temporal/entities/:id', temporal);
  return router;
}
