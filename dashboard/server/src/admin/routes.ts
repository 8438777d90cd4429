import type { z } from 'zod';
import {
  auditAnswerSchema,
  auditQuerySchema,
  formatIssuePath,
  parseRuleSet,
  rulesAnswerSchema,
  rulesBodySchema,
  rulesValidateAnswerSchema,
  rulesValidateBodySchema,
  ruleSetSchema,
  topics,
} from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { HttpError, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { userRoutes } from './user-routes';

/** A rule set ingest would refuse is refused here, naming rule and field: ingest must never receive one. */
/**
 * A schema problem as data the web app can say in either language: where, zod's code and its parameters
 * (expected type, bounds, allowed values); `message` stays for API clients.
 */
function ruleIssue(i: z.core.$ZodIssue) {
  const pick = i as unknown as Record<string, unknown>;
  const params: Record<string, string | number> = {};
  for (const k of ['expected', 'minimum', 'maximum', 'format'])
    if (typeof pick[k] === 'string' || typeof pick[k] === 'number') params[k] = pick[k];
  for (const k of ['values', 'keys']) if (Array.isArray(pick[k])) params[k] = (pick[k] as unknown[]).map(String).join(', ');
  if (i.code === 'invalid_type' && /received undefined/.test(i.message)) params.missing = 1;
  return { path: i.path.map(String).join('.'), message: i.message, code: i.code, params };
}

function validRules(rules: unknown[]): void {
  const checked = ruleSetSchema.safeParse({ rules });
  if (!checked.success) {
    const issues = checked.error.issues.map(ruleIssue);
    const message = checked.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`).join('; ');
    throw new HttpError(400, 'invalid_rules', message, { issues });
  }
  try {
    parseRuleSet({ rules }, 'body');
  } catch (err) {
    throw new HttpError(400, 'invalid_rules', (err as Error & { details?: string }).details ?? (err as Error).message);
  }
}

/** Alarm rules are data, versioned in the state DB and published retained on config/rules for ingest. */
export function currentRules(core: Core): { version: number; rules: unknown[]; updatedBy: string | null; updatedAt: number | null } {
  const row = core.db.prepare('SELECT version, rules, user, ts FROM rules ORDER BY version DESC LIMIT 1').get() as
    { version: number; rules: string; user: string; ts: number } | undefined;
  return row
    ? { version: row.version, rules: JSON.parse(row.rules) as unknown[], updatedBy: row.user, updatedAt: row.ts }
    : { version: 0, rules: [], updatedBy: null, updatedAt: null };
}

export function adminRoutes(core: Core): RouteSpec[] {
  return [
    ...userRoutes(core),
    {
      method: 'get',
      path: '/rules',
      wards: 'none',
      access: 'viewer',
      summary: 'Alarm rules (data, versioned): {version, rules, updatedBy, updatedAt}',
      request: {},
      answer: rulesAnswerSchema,
      handler: () => currentRules(core),
    },
    {
      method: 'put',
      path: '/rules',
      wards: 'city',
      access: 'admin',
      summary:
        "Replace the alarm rules ({baseVersion?, rules}) after validating them with the detector's schema → new version, published retained for ingest",
      request: { body: rulesBodySchema },
      answer: rulesAnswerSchema,
      async handler(req, res) {
        const body = parseInput(rulesBodySchema, req.body, 'body');
        validRules(body.rules);
        const user = actorOf(res);
        const next = core.db.transaction(() => {
          const cur = currentRules(core);
          if (body.baseVersion !== undefined && body.baseVersion !== cur.version)
            throw new HttpError(409, 'conflict', `rules changed meanwhile: now version ${cur.version}`);
          const version = cur.version + 1;
          core.db
            .prepare('INSERT INTO rules (version, rules, user, ts) VALUES (?, ?, ?, ?)')
            .run(version, JSON.stringify(body.rules), user, core.now());
          return version;
        })();
        core.audit.write(user, 'rules.update', { version: next, count: body.rules.length });
        const rules = currentRules(core);
        await core.mqttPublish(topics.configRules(), { version: rules.version, rules: rules.rules }, { qos: 1, retain: true });
        return rules;
      },
    },
    {
      method: 'post',
      path: '/rules/validate',
      wards: 'city',
      access: 'admin',
      summary: 'Validate a rule set ({rules}) without storing it → {ok, count}',
      request: { body: rulesValidateBodySchema },
      answer: rulesValidateAnswerSchema,
      handler(req) {
        const body = parseInput(rulesValidateBodySchema, req.body, 'body');
        validRules(body.rules);
        return { ok: true, count: body.rules.length };
      },
    },
    {
      method: 'get',
      path: '/audit',
      wards: 'city',
      access: 'admin',
      summary: 'Audit log (who changed or commanded what, when), newest first, filtered and paged: {entries, total}',
      request: { query: auditQuerySchema },
      answer: auditAnswerSchema,
      handler(req) {
        const q = parseInput(auditQuerySchema, req.query, 'query');
        return core.audit.list(q);
      },
    },
  ];
}
