import { z } from 'zod';
import { topics } from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { HttpError, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { userRoutes } from './user-routes';

const rulesBodySchema = z.object({
  /** The version the editor started from: a stale editor gets 409 instead of silently overwriting. */
  baseVersion: z.number().int().nonnegative().optional(),
  rules: z.array(z.record(z.string(), z.unknown())).max(10_000),
});
const auditQuerySchema = z.object({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
});

/** Alarm rules are data, versioned in the state DB and published retained on config/rules for ingest. */
export function currentRules(core: Core): { version: number; rules: unknown[]; updatedBy: string | null; updatedAt: number | null } {
  const row = core.db.prepare('SELECT version, rules, user, ts FROM rules ORDER BY version DESC LIMIT 1').get() as { version: number; rules: string; user: string; ts: number } | undefined;
  return row ? { version: row.version, rules: JSON.parse(row.rules) as unknown[], updatedBy: row.user, updatedAt: row.ts } : { version: 0, rules: [], updatedBy: null, updatedAt: null };
}

export function adminRoutes(core: Core): RouteSpec[] {
  return [
    ...userRoutes(core),
    {
      method: 'get',
      path: '/rules',
      access: 'viewer',
      summary: 'Alarm rules (data, versioned): {version, rules, updatedBy, updatedAt}',
      handler: () => currentRules(core),
    },
    {
      method: 'put',
      path: '/rules',
      access: 'admin',
      summary: 'Replace the alarm rules ({baseVersion?, rules}) → new version, published retained for ingest',
      async handler(req, res) {
        const body = parseInput(rulesBodySchema, req.body, 'body');
        const user = actorOf(res);
        const next = core.db.transaction(() => {
          const cur = currentRules(core);
          if (body.baseVersion !== undefined && body.baseVersion !== cur.version) throw new HttpError(409, 'conflict', `rules changed meanwhile: now version ${cur.version}`);
          const version = cur.version + 1;
          core.db.prepare('INSERT INTO rules (version, rules, user, ts) VALUES (?, ?, ?, ?)').run(version, JSON.stringify(body.rules), user, core.now());
          return version;
        })();
        core.audit.write(user, 'rules.update', { version: next, count: body.rules.length });
        const rules = currentRules(core);
        await core.mqttPublish(topics.configRules(), { version: rules.version, rules: rules.rules }, { qos: 1, retain: true });
        return rules;
      },
    },
    {
      method: 'get',
      path: '/audit',
      access: 'admin',
      summary: 'Audit log (who changed or commanded what, when), newest first',
      query: ['from', 'to', 'limit'],
      handler(req) {
        const q = parseInput(auditQuerySchema, req.query, 'query');
        return { entries: core.audit.list({ ...(q.from !== undefined ? { from: q.from } : {}), ...(q.to !== undefined ? { to: q.to } : {}), limit: q.limit }) };
      },
    },
  ];
}
