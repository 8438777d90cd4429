import type { z } from 'zod';
import {
  ALARM_STATES as STATES,
  alarmAnswerSchema,
  alarmAssignBodySchema,
  alarmBulkAnswerSchema,
  alarmCountAnswerSchema,
  alarmRowsAnswerSchema,
  alarmRowsQuerySchema,
  deskRows,
  alarmBulkBodySchema,
  alarmCommentBodySchema,
  alarmCsvQuerySchema,
  alarmDetailSchema,
  alarmHealthQuerySchema,
  alarmHealthSchema,
  alarmListQuerySchema,
  alarmNoteBodySchema,
  alarmsAnswerSchema,
  assigneesAnswerSchema,
  localIsoString,
  SEVERITIES,
  shelfAnswerSchema,
  shelfBodySchema,
  shelvesAnswerSchema,
  textAnswer,
} from '@tamky/protocol';
import type { ModuleContext } from '../module';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { AlarmConflict, AlarmNotFound, type AlarmStore, type ListFilter } from './store';
import type { Alarm, AlarmChange } from './model';
import { toApiAlarm, toApiAudit } from './api-shape';
import type { Shelves } from './shelves';
import { alarmsToCsv } from './csv';
import { computeAlarmHealth, type HealthSettings } from './health';
import { inScope, wardOfThing, wardScopeOf } from '../readings/ward-scope';

export interface AlarmActions {
  store: AlarmStore;
  shelves: Shelves;
  /** Broadcasts and notifies after a change made by a person. */
  changed(alarm: Alarm, change: AlarmChange, actor: string): void;
  /** Stops the notifications of alarms a new shelf covers. */
  silenced(alarms: Alarm[]): void;
  /** Announces again the open alarms whose shelf has ended. */
  releaseShelves(): void;
  notifications(alarmId: number): unknown[];
  health: HealthSettings;
}

/** Query → store filter; "open" is shorthand for active + acknowledged, what a wall screen shows. */
function toFilter(raw: unknown): ListFilter {
  const query = parseInput(alarmListQuerySchema, raw ?? {}, 'query');
  const states = query.state ? query.state.split(',').flatMap((s) => (s === 'open' ? ['active', 'acknowledged'] : [s])) : undefined;
  if (states?.some((s) => !(STATES as readonly string[]).includes(s)))
    throw new HttpError(400, 'bad_request', 'state must be active, acknowledged, cleared or open');
  const severities = query.severity ? query.severity.split(',') : undefined;
  if (severities?.some((s) => !(SEVERITIES as readonly string[]).includes(s)))
    throw new HttpError(400, 'bad_request', `severity must be one of ${SEVERITIES.join(', ')}`);
  return {
    ...(states ? { states: states as ListFilter['states'] } : {}),
    ...(severities ? { severities } : {}),
    ...(query.ward ? { ward: query.ward } : {}),
    ...(query.kind ? { kind: query.kind } : {}),
    ...(query.assignee ? { assignee: query.assignee === 'none' ? null : query.assignee } : {}),
    ...(query.q?.trim() ? { text: query.q.trim() } : {}),
    ...(query.from !== undefined ? { from: query.from } : {}),
    ...(query.to !== undefined ? { to: query.to } : {}),
    ...(query.limit ? { limit: query.limit } : {}),
    ...(query.before ? { beforeId: query.before } : {}),
  };
}

const alarmId = (raw: unknown): number => {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw notFound(`alarm ${String(raw)}`);
  return id;
};

/** Lifecycle errors of the store as the API's answers. */
function lifecycle<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof AlarmNotFound) throw new HttpError(404, 'not_found', err.message);
    if (err instanceof AlarmConflict) throw new HttpError(409, 'conflict', err.message);
    throw err;
  }
}

export function alarmRoutes(ctx: ModuleContext, actions: AlarmActions): RouteSpec[] {
  // `actions.store` is read per request: routes are declared before the module has started.
  const store = () => actions.store;
  /** An alarm outside the caller's wards does not exist for them (404, like an unknown id: no probing). */
  const mustBeInScope = (id: number, res: Parameters<RouteSpec['handler']>[1]) => {
    const wards = wardScopeOf(res);
    if (wards && !inScope(wards, store().get(id)?.ward)) throw new AlarmNotFound(`alarm ${id} not found`);
  };
  const mustBeUser = (username: string) => {
    if (!ctx.users().some((u) => u.username === username))
      throw new HttpError(400, 'unknown_user', `no user ${username}`, { issues: [{ path: 'assignee', message: 'unknown user' }] });
  };

  const action = (
    path: string,
    summary: string,
    body: z.ZodType,
    run: (id: number, actor: string, body: any) => Alarm,
    change: AlarmChange,
    auditAction: string,
  ): RouteSpec => ({
    method: 'post',
    path: `/alarms/:id/${path}`,
    access: 'operator',
    wards: 'filter',
    summary,
    request: { body },
    answer: alarmAnswerSchema,
    handler(req, res) {
      const parsed = parseInput(body, req.body ?? {}, 'body') as Record<string, unknown>;
      const id = alarmId(req.params.id);
      const actor = actorOf(res);
      const alarm = lifecycle(() => {
        mustBeInScope(id, res);
        return run(id, actor, parsed);
      });
      ctx.audit(actor, auditAction, { alarm: id, ...parsed });
      actions.changed(alarm, change, actor);
      return { alarm: toApiAlarm(alarm) };
    },
  });

  return [
    {
      method: 'get',
      path: '/alarms',
      access: 'viewer',
      token: 'read:alarms',
      wards: 'filter',
      summary: 'Alarms newest first, with filters (also to API tokens with read:alarms, limited to their wards)',
      request: { query: alarmListQuerySchema },
      answer: alarmsAnswerSchema,
      handler(req, res) {
        const wards = wardScopeOf(res);
        const alarms = store().list(toFilter(req.query));
        return { alarms: alarms.filter((a) => inScope(wards, a.ward)).map(toApiAlarm) };
      },
    },
    {
      method: 'get',
      path: '/alarms.csv',
      access: 'operator',
      summary: 'The filtered alarms with their trails as CSV (UTF-8 with BOM, local times with offset), one row per trail entry',
      request: { query: alarmCsvQuerySchema },
      answer: textAnswer,
      produces: 'text/csv',
      wards: 'filter',
      handler(req, res) {
        const wards = wardScopeOf(res);
        const alarms = store()
          .list({ limit: 5000, ...toFilter(req.query) })
          .filter((a) => inScope(wards, a.ward));
        const csv = alarmsToCsv(
          alarms.map((a) => ({ alarm: a, trail: store().trail(a.id) })),
          { city: ctx.city, lang: req.query.lang === 'en' ? 'en' : 'vi' },
        );
        const day = localIsoString(ctx.now(), ctx.city.timeZone).slice(0, 10);
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.setHeader('Content-Disposition', `attachment; filename="alarms-${day}.csv"`);
        res.send(csv);
      },
    },
    {
      method: 'get',
      path: '/alarms/count',
      access: 'viewer',
      token: 'read:alarms',
      wards: 'filter',
      summary:
        "How many open alarms wait for an acknowledgement (active, not explained by a gateway alarm) and how many are open, in the caller's wards",
      request: {},
      answer: alarmCountAnswerSchema,
      handler: (_req, res) => store().count(wardScopeOf(res)),
    },
    {
      method: 'get',
      path: '/alarms/rows',
      access: 'viewer',
      wards: 'filter',
      summary:
        "The alarm desk's first lines: every alarm the filters match, grouped (bursts folded, children under their gateway alarm), worst first",
      request: { query: alarmRowsQuerySchema },
      answer: alarmRowsAnswerSchema,
      handler(req, res) {
        const query = parseInput(alarmRowsQuerySchema, req.query ?? {}, 'query');
        const wards = wardScopeOf(res);
        const { beforeId: _before, ...filter } = toFilter(req.query);
        const alarms = store()
          .list({ ...filter, limit: 'all' })
          .filter((a) => inScope(wards, a.ward) && String(a.id) !== query.exclude)
          .map(toApiAlarm);
        const rows = deskRows(alarms);
        return { rows: rows.slice(0, query.rows ?? 100), total: rows.length, alarms: alarms.length };
      },
    },
    {
      method: 'get',
      path: '/alarms/assignees',
      access: 'operator',
      wards: 'none',
      summary: 'People an alarm can be assigned to: {users: [{username, displayName, role}]}',
      request: {},
      answer: assigneesAnswerSchema,
      handler: () => ({ users: ctx.users().filter((u) => u.role !== 'viewer') }),
    },
    {
      method: 'get',
      path: '/alarms/health',
      access: 'admin',
      wards: 'city',
      summary:
        'Alarm-system health over [from, to) (ISA-18.2 / EEMUA 191): rates per operator position, floods, bad actors, chattering, fleeting, stale, priority mix',
      request: { query: alarmHealthQuerySchema },
      answer: alarmHealthSchema,
      handler(req) {
        const q = parseInput(alarmHealthQuerySchema, req.query, 'query');
        if (q.to <= q.from) throw new HttpError(400, 'bad_request', 'to must be after from');
        if (q.to - q.from > 366 * 86_400_000) throw new HttpError(400, 'bad_request', 'at most a year at a time');
        return computeAlarmHealth(ctx.db, {
          from: q.from,
          to: q.to,
          now: ctx.now(),
          settings: { ...actions.health, ...(q.positions ? { positions: q.positions } : {}) },
        });
      },
    },
    {
      method: 'get',
      path: '/alarms/shelves',
      access: 'viewer',
      wards: 'filter',
      summary: 'Maintenance shelves in force: {shelves: [{id, targetType, targetId, reason, user, createdAt, until}]}',
      request: {},
      answer: shelvesAnswerSchema,
      handler(_req, res) {
        const wards = wardScopeOf(res);
        return { shelves: actions.shelves.active().filter((s) => inScope(wards, wardOfThing(ctx.city, s.targetType, s.targetId))) };
      },
    },
    {
      method: 'post',
      path: '/alarms/shelves',
      access: 'operator',
      wards: 'filter',
      summary:
        'Shelve a device, gateway or ward for maintenance ({targetType, targetId, reason, minutes}): its alarms are recorded but notify nobody until it expires',
      request: { body: shelfBodySchema },
      answer: shelfAnswerSchema,
      handler(req, res) {
        const body = parseInput(shelfBodySchema, req.body ?? {}, 'body');
        const ward = wardOfThing(ctx.city, body.targetType, body.targetId);
        // Outside the caller's wards it is as unknown as a typo.
        if (ward === undefined || !inScope(wardScopeOf(res), ward))
          throw new HttpError(400, 'unknown_target', `no ${body.targetType} ${body.targetId}`, {
            issues: [{ path: 'targetId', message: 'unknown' }],
          });
        const actor = actorOf(res);
        const shelf = actions.shelves.add(
          { targetType: body.targetType, targetId: body.targetId, reason: body.reason, until: ctx.now() + body.minutes * 60_000 },
          actor,
        );
        ctx.audit(actor, 'alarm.shelve', {
          shelf: shelf.id,
          targetType: shelf.targetType,
          targetId: shelf.targetId,
          reason: shelf.reason,
          until: shelf.until,
        });
        actions.silenced(store().shelveOpen(shelf, actor));
        res.status(201);
        return { shelf };
      },
    },
    {
      method: 'delete',
      path: '/alarms/shelves/:id',
      access: 'operator',
      wards: 'filter',
      summary: 'End a maintenance shelf now',
      request: {},
      answer: shelfAnswerSchema,
      handler(req, res) {
        const id = Number(req.params.id);
        const before = Number.isInteger(id) ? actions.shelves.get(id) : undefined;
        if (!before || !inScope(wardScopeOf(res), wardOfThing(ctx.city, before.targetType, before.targetId)))
          throw notFound(`shelf ${String(req.params.id)}`);
        const actor = actorOf(res);
        const shelf = actions.shelves.end(id, actor)!;
        ctx.audit(actor, 'alarm.unshelve', { shelf: id, targetType: shelf.targetType, targetId: shelf.targetId });
        actions.releaseShelves();
        return { shelf };
      },
    },
    {
      method: 'post',
      path: '/alarms/bulk',
      access: 'operator',
      wards: 'filter',
      summary:
        'Acknowledge or assign many alarms at once ({ids, action: ack|assign, assignee?, comment?}) → {alarms, failed: [{id, error}]}',
      request: { body: alarmBulkBodySchema },
      answer: alarmBulkAnswerSchema,
      handler(req, res) {
        const body = parseInput(alarmBulkBodySchema, req.body ?? {}, 'body');
        if (body.action === 'assign') {
          if (!body.assignee)
            throw new HttpError(400, 'bad_request', 'assignee is required to assign', {
              issues: [{ path: 'assignee', message: 'required' }],
            });
          mustBeUser(body.assignee);
        }
        const actor = actorOf(res);
        const done: Alarm[] = [];
        const failed: Array<{ id: string; error: string }> = [];
        for (const raw of body.ids) {
          const id = Number(raw);
          try {
            if (!Number.isInteger(id)) throw new AlarmNotFound(`alarm ${String(raw)} not found`);
            mustBeInScope(id, res);
            const alarm = body.action === 'ack' ? store().acknowledge(id, actor, body.comment) : store().assign(id, actor, body.assignee!);
            ctx.audit(actor, body.action === 'ack' ? 'alarm.ack' : 'alarm.assign', {
              alarm: id,
              bulk: true,
              ...(body.assignee && body.action === 'assign' ? { assignee: body.assignee } : {}),
              ...(body.comment ? { comment: body.comment } : {}),
            });
            actions.changed(alarm, body.action === 'ack' ? 'acknowledged' : 'assigned', actor);
            done.push(alarm);
          } catch (err) {
            if (!(err instanceof AlarmNotFound || err instanceof AlarmConflict)) throw err;
            failed.push({ id: String(raw), error: err instanceof AlarmNotFound ? 'not_found' : 'conflict' });
          }
        }
        return { alarms: done.map(toApiAlarm), failed };
      },
    },
    {
      method: 'get',
      path: '/alarms/:id',
      access: 'viewer',
      wards: 'filter',
      summary: 'One alarm (open or cleared) with its audit trail, notifications and correlated children',
      request: {},
      answer: alarmDetailSchema,
      handler(req, res) {
        const id = alarmId(req.params.id);
        const alarm = store().get(id);
        if (!alarm || !inScope(wardScopeOf(res), alarm.ward)) throw notFound(`alarm ${id}`);
        return {
          alarm: toApiAlarm(alarm),
          audit: store().trail(id).map(toApiAudit),
          notifications: actions.notifications(id),
          children: store().children(id).map(toApiAlarm),
        };
      },
    },
    action(
      'ack',
      'Acknowledge ({comment?}): stops escalation',
      alarmCommentBodySchema,
      (id, actor, b) => store().acknowledge(id, actor, b.comment),
      'acknowledged',
      'alarm.ack',
    ),
    action(
      'assign',
      'Assign to a user ({assignee}: a username)',
      alarmAssignBodySchema,
      (id, actor, b) => {
        mustBeUser(b.assignee);
        return store().assign(id, actor, b.assignee);
      },
      'assigned',
      'alarm.assign',
    ),
    action(
      'comment',
      'Comment ({text})',
      alarmNoteBodySchema,
      (id, actor, b) => store().comment(id, actor, b.text),
      'commented',
      'alarm.comment',
    ),
    action(
      'clear',
      'Resolve by hand ({comment?}); the condition coming back within the reopen window reopens it',
      alarmCommentBodySchema,
      (id, actor, b) => store().clear(id, actor, b.comment),
      'cleared',
      'alarm.clear',
    ),
  ];
}
