import {
  cityAnswerSchema,
  deadLetterQuerySchema,
  deadLettersAnswerSchema,
  historyAnswerSchema,
  historyCsvQuerySchema,
  historyQuerySchema,
  latestAnswerSchema,
  latestQuerySchema,
  limitsAnswer,
  limitsAnswerSchema,
  ngsiLdAnswerSchema,
  overviewAnswerSchema,
  reduceByDevice,
  textAnswer,
} from '@tamky/protocol';
import type { Core } from '../core';
import { parseInput } from '../http/errors';
import { attachment } from '../http/content-disposition';
import type { RouteSpec } from '../http/route-table';
import { computeOverview } from '../overview/overview';
import { aqiLevel } from '../overview/limits';
import { toNgsiLd } from '../export/ngsi-ld';
import { parseHistoryQuery } from './history-query';
import { sendHistoryAnswer } from './history-json';
import { csvFileName, seriesToCsv } from './csv';
import { cityInWards, inScope, limitQueryToWards, wardScopeOf } from './ward-scope';

const csvReduceSchema = historyCsvQuerySchema.shape.reduce;

export function readingRoutes(core: Core): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/city',
      wards: 'filter',
      access: 'viewer',
      token: 'read:readings',
      summary: 'The city model (wards, gateways, devices)',
      request: {},
      answer: cityAnswerSchema,
      handler: (_req, res) => cityInWards(core.city, wardScopeOf(res)),
    },
    {
      method: 'get',
      path: '/latest',
      wards: 'filter',
      access: 'viewer',
      token: 'read:readings',
      summary: 'Latest reading per device',
      request: { query: latestQuerySchema },
      answer: latestAnswerSchema,
      async handler(req, res) {
        const q = parseInput(latestQuerySchema, req.query, 'query');
        const wards = wardScopeOf(res);
        const readings = await core.store.latest({ ...(q.kind ? { kind: q.kind } : {}), ...(q.ward ? { ward: q.ward } : {}) });
        return { readings: readings.filter((r) => inScope(wards, r.ward)) };
      },
    },
    {
      method: 'get',
      path: '/history',
      wards: 'filter',
      access: 'viewer',
      token: 'read:readings',
      summary:
        "Time series for one kind; with windowMs, aggregated per window (served from rollups); with width (the chart's pixels), the window is widened until no series has more points than pixels",
      request: { query: historyQuerySchema },
      answer: historyAnswerSchema,
      async handler(req, res) {
        const q = limitQueryToWards(parseHistoryQuery(req.query, core.now()), core.city, wardScopeOf(res));
        // The window says whether a series' clock marks name readings or windows (Series.clock).
        if (!core.store.queryColumns)
          return { series: await core.store.query(q), ...(q.windowMs !== undefined ? { windowMs: q.windowMs } : {}) };
        // The same answer, encoded from columns: no array per point to build, keep alive and stringify.
        await sendHistoryAnswer(req, res, await core.store.queryColumns(q), q.windowMs);
      },
    },
    {
      method: 'get',
      path: '/history.csv',
      wards: 'filter',
      access: 'viewer',
      token: 'read:readings',
      summary:
        'The same as /history (raw or aggregated as asked) as CSV for Excel: UTF-8 with BOM; time (city-local ISO 8601 with offset),device,device_name,ward,ward_name,field,unit,value,clock (the clock mark of a raw reading, or of a window holding marked readings: unsynced, corrected, or empty); file named by the range',
      request: { query: historyCsvQuerySchema },
      answer: textAnswer,
      produces: 'text/csv',
      async handler(req, res) {
        const { reduce, ...rest } = (req.query ?? {}) as Record<string, unknown>;
        const how = parseInput(csvReduceSchema, reduce, 'reduce');
        const q = limitQueryToWards(parseHistoryQuery(rest, core.now()), core.city, wardScopeOf(res));
        // reduce: the chart folds each device's fields into one line (lanes into total flow); the file says the same.
        const series = await core.store.query(q);
        const csv = seriesToCsv(how ? reduceByDevice(series, how) : series, {
          city: core.city,
          kind: q.kind,
          ...(how ? { reducedFrom: q.fields } : {}),
        });
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.setHeader('Content-Disposition', attachment(csvFileName(q.kind, q.from, q.to, core.city.timeZone)));
        res.send(csv);
      },
    },
    {
      method: 'get',
      path: '/overview',
      wards: 'filter',
      access: 'viewer',
      summary: 'Per ward: VN_AQI, noise vs QCVN 26 limit, water stage, lights, traffic, open alarm counts',
      request: {},
      answer: overviewAnswerSchema,
      async handler(_req, res) {
        const wards = wardScopeOf(res);
        const latest = (await core.store.latest()).filter((r) => inScope(wards, r.ward));
        return computeOverview(cityInWards(core.city, wards), latest, core.limits, core.now(), core.alarmCounts);
      },
    },
    {
      method: 'get',
      path: '/limits',
      wards: 'none',
      access: 'viewer',
      summary:
        'VN_AQI table and levels, QCVN 26 noise limits, QCVN 05 ambient air limits and the congestion index as loaded from config/limits',
      request: {},
      answer: limitsAnswerSchema,
      handler: () => limitsAnswer(core.limits),
    },
    {
      method: 'get',
      path: '/dead-letters',
      wards: 'city',
      access: 'technician',
      summary: 'Rejected messages with the reason, newest first',
      request: { query: deadLetterQuerySchema },
      answer: deadLettersAnswerSchema,
      async handler(req) {
        const q = parseInput(deadLetterQuerySchema, req.query, 'query');
        // The store has no count: ask for one more than shown to tell the client whether there are more.
        const letters = await core.store.deadLetters({
          ...(q.from !== undefined ? { from: q.from } : {}),
          ...(q.to !== undefined ? { to: q.to } : {}),
          limit: q.limit + 1,
        });
        return { deadLetters: letters.slice(0, q.limit), total: letters.length, more: letters.length > q.limit };
      },
    },
    {
      method: 'get',
      path: '/export/ngsi-ld',
      wards: 'filter',
      access: 'viewer',
      token: 'read:readings',
      summary: 'Current state as NGSI-LD entities named after FIWARE Smart Data Models',
      request: {},
      answer: ngsiLdAnswerSchema,
      produces: 'application/ld+json',
      async handler(_req, res) {
        const wards = wardScopeOf(res);
        const latest = (await core.store.latest()).filter((r) => inScope(wards, r.ward));
        const entities = toNgsiLd(cityInWards(core.city, wards), latest, (v) => aqiLevel(core.limits.vnAqi, v).level);
        res.setHeader('Content-Type', 'application/ld+json; charset=utf-8');
        res.send(JSON.stringify(entities));
      },
    },
  ];
}
