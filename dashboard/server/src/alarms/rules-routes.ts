import type express from 'express';
import { z } from 'zod';
import { topics } from '@tamky/protocol';
import { parseRuleSet } from '@tamky/protocol';
import type { ModuleContext } from '../module';
import { actorOf } from './routes';

const putBody = z.object({
  /** The version the editor started from: a stale editor gets 409 instead of silently overwriting. */
  baseVersion: z.number().int().nonnegative().optional(),
  rules: z.array(z.record(z.string(), z.unknown())).max(10_000),
});

interface RulesRow {
  version: number;
  rules: string;
  user: string;
  ts: number;
}

/**
 * PUT /api/rules, taken over from the core server so a rule set is validated against the detector's own
 * schema before it is versioned and published: ingest must never receive a set it would reject.
 * Storage (the core `rules` table) and the answer shape stay the core's.
 */
export function mountRulesRoutes(router: express.Router, ctx: ModuleContext): void {
  const current = () => {
    const row = ctx.db.prepare('SELECT version, rules, user, ts FROM rules ORDER BY version DESC LIMIT 1').get() as RulesRow | undefined;
    return row ? { version: row.version, rules: JSON.parse(row.rules) as unknown[], updatedBy: row.user, updatedAt: row.ts } : { version: 0, rules: [], updatedBy: null, updatedAt: null };
  };

  router.put('/rules', ctx.requireRole('admin'), async (req, res) => {
    const body = putBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: 'bad_request', message: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    try {
      parseRuleSet({ rules: body.data.rules }, 'body');
    } catch (err) {
      return void res.status(400).json({ error: 'invalid_rules', message: (err as Error & { details?: string }).details ?? (err as Error).message });
    }
    const user = actorOf(req, res);
    let version: number;
    try {
      version = ctx.db.transaction(() => {
        const cur = current();
        if (body.data.baseVersion !== undefined && body.data.baseVersion !== cur.version) throw new Conflict(`rules changed meanwhile: now version ${cur.version}`);
        ctx.db.prepare('INSERT INTO rules (version, rules, user, ts) VALUES (?, ?, ?, ?)').run(cur.version + 1, JSON.stringify(body.data.rules), user, ctx.now());
        return cur.version + 1;
      })();
    } catch (err) {
      if (err instanceof Conflict) return void res.status(409).json({ error: 'conflict', message: err.message });
      throw err;
    }
    ctx.audit(user, 'rules.update', { version, count: body.data.rules.length });
    const rules = current();
    await ctx.mqttPublish(topics.configRules(), { version: rules.version, rules: rules.rules }, { qos: 1, retain: true });
    res.json(rules);
  });
}

class Conflict extends Error {}
