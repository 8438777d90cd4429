import type express from 'express';
import { z } from 'zod';
import { SEVERITIES } from '@tamky/protocol';
import { parseRuleSet } from '@tamky/protocol';
import type { ModuleContext } from '../module';
import { AlarmConflict, AlarmNotFound, type AlarmStore } from './store';
import type { Alarm, AlarmChange } from './model';
import { toApiAlarm, toApiAudit } from './api-shape';

export interface AlarmActions {
  store: AlarmStore;
  /** Broadcasts and notifies after a change made by a person. */
  changed(alarm: Alarm, change: AlarmChange, actor: string): void;
  notifications(alarmId: number): unknown[];
}

/** The logged-in user as the dashboard's guard left it (res.locals.session), with req.user as a fallback. */
export function actorOf(req: express.Request, res: express.Response): string {
  const session = res.locals.session as { user?: { username?: string } } | undefined;
  const user = (req as unknown as { user?: { username?: string } }).user;
  return session?.user?.username ?? user?.username ?? 'unknown';
}

const fail = (res: express.Response, status: number, error: string, message: string) => res.status(status).json({ error, message });

function parse<T extends z.ZodType>(schema: T, data: unknown, res: express.Response): z.infer<T> | undefined {
  const r = schema.safeParse(data ?? {});
  if (r.success) return r.data;
  fail(res, 400, 'bad_request', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return undefined;
}

const listQuery = z.object({
  state: z.string().optional(),
  severity: z.string().optional(),
  ward: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.coerce.number().int().positive().optional(),
});
const STATES = new Set(['active', 'acknowledged', 'cleared']);
const commentBody = z.object({ comment: z.string().max(2000).optional() });

export function mountAlarmRoutes(router: express.Router, ctx: ModuleContext, actions: AlarmActions): void {
  // `actions.store` is read per request: servers may mount routes before the module has started.
  const store = () => actions.store;

  router.get('/alarms', ctx.requireRole('viewer'), (req, res) => {
    const query = parse(listQuery, req.query, res);
    if (!query) return;
    // "open" is shorthand for active + acknowledged, what a wall screen shows.
    const states = query.state ? query.state.split(',').flatMap((s) => (s === 'open' ? ['active', 'acknowledged'] : [s])) : undefined;
    if (states?.some((s) => !STATES.has(s))) return fail(res, 400, 'bad_request', 'state must be active, acknowledged, cleared or open');
    const severities = query.severity?.split(',');
    if (severities?.some((s) => !(SEVERITIES as readonly string[]).includes(s))) return fail(res, 400, 'bad_request', `severity must be one of ${SEVERITIES.join(', ')}`);
    res.json({ alarms: store().list({ states: states as Alarm['state'][] | undefined, severities, ward: query.ward, limit: query.limit, beforeId: query.before }).map(toApiAlarm) });
  });

  router.get('/alarms/:id', ctx.requireRole('viewer'), (req, res) => {
    const id = Number(req.params.id);
    const alarm = Number.isInteger(id) ? store().get(id) : undefined;
    if (!alarm) return fail(res, 404, 'not_found', `alarm ${req.params.id} not found`);
    res.json({ alarm: toApiAlarm(alarm), audit: store().trail(id).map(toApiAudit), notifications: actions.notifications(id) });
  });

  const action = (path: string, body: z.ZodType, run: (id: number, actor: string, body: any) => Alarm, change: AlarmChange, auditAction: string) =>
    router.post(`/alarms/:id/${path}`, ctx.requireRole('operator'), (req, res) => {
      const parsed = parse(body, req.body, res);
      if (parsed === undefined) return;
      const id = Number(req.params.id);
      if (!Number.isInteger(id)) return fail(res, 404, 'not_found', `alarm ${req.params.id} not found`);
      const actor = actorOf(req, res);
      try {
        const alarm = run(id, actor, parsed);
        ctx.audit(actor, auditAction, { alarm: id, ...(parsed as object) });
        actions.changed(alarm, change, actor);
        res.json({ alarm: toApiAlarm(alarm) });
      } catch (err) {
        if (err instanceof AlarmNotFound) return fail(res, 404, 'not_found', err.message);
        if (err instanceof AlarmConflict) return fail(res, 409, 'conflict', err.message);
        throw err;
      }
    });

  action('ack', commentBody, (id, actor, b) => store().acknowledge(id, actor, b.comment), 'acknowledged', 'alarm.ack');
  action('assign', z.object({ assignee: z.string().min(1).max(64) }), (id, actor, b) => store().assign(id, actor, b.assignee), 'assigned', 'alarm.assign');
  action('comment', z.object({ text: z.string().min(1).max(2000) }), (id, actor, b) => store().comment(id, actor, b.text), 'commented', 'alarm.comment');
  action('clear', commentBody, (id, actor, b) => store().clear(id, actor, b.comment), 'cleared', 'alarm.clear');

  // The server's PUT /api/rules stores whatever it is given; this lets the editor check a rule set first.
  router.post('/rules/validate', ctx.requireRole('admin'), (req, res) => {
    try {
      const set = parseRuleSet({ version: 0, ...(req.body ?? {}) }, 'body');
      res.json({ ok: true, count: set.rules.length });
    } catch (err) {
      res.status(400).json({ error: 'invalid_rules', message: (err as Error & { details?: string }).details ?? (err as Error).message });
    }
  });
}
