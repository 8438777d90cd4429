import { z } from 'zod';
import { limitsAnswer, limitsAnswerSchema } from '@tamky/protocol';
import type { Core } from '../core';
import { parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { computeOverview } from '../overview/overview';
import { aqiLevel } from '../overview/limits';
import { toNgsiLd } from '../export/ngsi-ld';
import { parseHistoryQuery } from './history-query';
import { seriesToCsv } from './csv';

const latestQuerySchema = z.object({ kind: z.string().min(1).optional(), ward: z.string().min(1).optional() });
const deadLetterQuerySchema = z.object({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
});

export function readingRoutes(core: Core): RouteSpec[] {
  return [
    { method: 'get', path: '/city', access: 'viewer', summary: 'The city model (wards, gateways, devices)', handler: () => core.city },
    {
      method: 'get',
      path: '/latest',
      access: 'viewer',
      summary: 'Latest reading per device',
      query: ['kind', 'ward'],
      async handler(req) {
        const q = parseInput(latestQuerySchema, req.query, 'query');
        return { readings: await core.store.latest({ ...(q.kind ? { kind: q.kind } : {}), ...(q.ward ? { ward: q.ward } : {}) }) };
      },
    },
    {
      method: 'get',
      path: '/history',
      access: 'viewer',
      summary: 'Time series for one kind; with windowMs, aggregated per window (served from rollups)',
      query: ['kind', 'fields', 'from', 'to', 'windowMs', 'aggregate', 'devices', 'ward'],
      async handler(req) {
        return { series: await core.store.query(parseHistoryQuery(req.query, core.now())) };
      },
    },
    {
      method: 'get',
      path: '/history.csv',
      access: 'viewer',
      summary: 'The same as /history as CSV: time,device,ward,field,value (ISO time)',
      query: ['kind', 'fields', 'from', 'to', 'windowMs', 'aggregate', 'devices', 'ward'],
      produces: 'text/csv',
      async handler(req, res) {
        const q = parseHistoryQuery(req.query, core.now());
        const csv = seriesToCsv(await core.store.query(q));
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.setHeader('Content-Disposition', `attachment; filename="${q.kind}-${new Date(q.from).toISOString().slice(0, 10)}.csv"`);
        res.send(csv);
      },
    },
    {
      method: 'get',
      path: '/overview',
      access: 'viewer',
      summary: 'Per ward: VN_AQI, noise vs QCVN 26 limit, water stage, lights, traffic, open alarm counts',
      async handler() {
        return computeOverview(core.city, await core.store.latest(), core.limits, core.now(), core.alarmCounts);
      },
    },
    {
      method: 'get',
      path: '/limits',
      access: 'viewer',
      summary: 'VN_AQI table and levels, QCVN 26 noise limits, QCVN 05 ambient air limits and the congestion index as loaded from config/limits',
      answer: limitsAnswerSchema,
      handler: () => limitsAnswer(core.limits),
    },
    {
      method: 'get',
      path: '/dead-letters',
      access: 'technician',
      summary: 'Rejected messages with the reason, newest first',
      query: ['from', 'to', 'limit'],
      async handler(req) {
        const q = parseInput(deadLetterQuerySchema, req.query, 'query');
        // The store has no count: ask for one more than shown to tell the client whether there are more.
        const letters = await core.store.deadLetters({ ...(q.from !== undefined ? { from: q.from } : {}), ...(q.to !== undefined ? { to: q.to } : {}), limit: q.limit + 1 });
        return { deadLetters: letters.slice(0, q.limit), total: letters.length, more: letters.length > q.limit };
      },
    },
    {
      method: 'get',
      path: '/export/ngsi-ld',
      access: 'viewer',
      summary: 'Current state as NGSI-LD entities named after FIWARE Smart Data Models',
      produces: 'application/ld+json',
      async handler(_req, res) {
        const entities = toNgsiLd(core.city, await core.store.latest(), (v) => aqiLevel(core.limits.vnAqi, v).level);
        res.setHeader('Content-Type', 'application/ld+json; charset=utf-8');
        res.send(JSON.stringify(entities));
      },
    },
  ];
}
