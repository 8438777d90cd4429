import type Database from 'better-sqlite3';

/** What correlation needs to know about a rule: does it watch a device's or a gateway's silence? */
export type RuleRole = 'device-silence' | 'gateway-silence' | 'other';

/**
 * Reads the current rule set from the core `rules` table (the one ingest runs) and remembers it per
 * version: an alarm event names only its rule id.
 */
export function createRuleRoles(db: Database.Database) {
  const latest = db.prepare<[], { version: number; rules: string }>('SELECT version, rules FROM rules ORDER BY version DESC LIMIT 1');
  const latestVersion = db.prepare<[], { version: number }>('SELECT version FROM rules ORDER BY version DESC LIMIT 1');
  let version = -1;
  let roles = new Map<string, RuleRole>();
  return (ruleId: string): RuleRole => {
    const v = latestVersion.get()?.version ?? 0;
    if (v !== version) {
      const row = latest.get();
      roles = new Map();
      for (const r of row ? (JSON.parse(row.rules) as Array<{ id?: string; type?: string; target?: string }>) : []) {
        if (r.type === 'no_data' && typeof r.id === 'string')
          roles.set(r.id, r.target === 'gateway' ? 'gateway-silence' : 'device-silence');
      }
      version = v;
    }
    return roles.get(ruleId) ?? 'other';
  };
}
