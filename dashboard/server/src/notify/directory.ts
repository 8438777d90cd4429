import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { Logger } from '@tamky/service-kit';
import { HttpError, InvalidInputError, type FieldIssue } from '../http/errors';
import { migrate } from '../state-db';
import { normalisePhone } from './phone';
import { CHANNELS, notifyPolicySchema, type ChannelName, type NotifyPolicy } from './policy';

/** The part of the notification policy admins edit: who (recipients), on-call groups, and escalation routes. */
export interface DirectoryData {
  recipients: NotifyPolicy['recipients'];
  groups: NotifyPolicy['groups'];
  routes: NotifyPolicy['routes'];
}

export interface DirectoryView extends DirectoryData {
  /** False while no notification policy is loaded (alarms module without `notify`): nothing to edit then. */
  configured: boolean;
  version: number;
  updatedBy: string | null;
  updatedAt: number | null;
  /** Channels with a provider configured in the policy file (others are refused for recipients). */
  channels: ChannelName[];
}

const MIGRATIONS = [
  {
    name: 'notify/100-directory',
    sql: 'CREATE TABLE notify_directory (version INTEGER PRIMARY KEY, data TEXT NOT NULL, user TEXT NOT NULL, ts INTEGER NOT NULL)',
  },
];

const inputSchema = z
  .object({ recipients: z.array(z.unknown()).max(2000), groups: z.array(z.unknown()).max(500), routes: z.array(z.unknown()).max(500) })
  .strict();
/** As the Zalo OA webhook reports it (`sender.id`): an opaque id, digits in practice. */
const ZALO_USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

const pick = (p: NotifyPolicy): DirectoryData => ({ recipients: p.recipients, groups: p.groups, routes: p.routes });
const providerOf = (c: ChannelName) => (c === 'sms' ? 'esms' : c);

/**
 * Recipients and escalation, versioned in the state DB like the rules. The policy file seeds version 1 and
 * keeps everything else (providers and their secrets, quiet hours, retry, rate limits). Until an admin edits
 * them here, a changed file becomes a new version at start; after that the DB wins for recipients/groups/routes. Every version is validated with the policy's own schema, merged into
 * the file's policy, so the notifier can never be handed something the file could not have said.
 */
export function createNotifyDirectory(db: Database.Database, now: () => number, logger: Logger) {
  migrate(db, MIGRATIONS);
  const latest = db.prepare('SELECT version, data, user, ts FROM notify_directory ORDER BY version DESC LIMIT 1');
  const insert = db.prepare('INSERT INTO notify_directory (version, data, user, ts) VALUES (?, ?, ?, ?)');
  const read = () => {
    const row = latest.get() as { version: number; data: string; user: string; ts: number } | undefined;
    return row ? { version: row.version, data: JSON.parse(row.data) as DirectoryData, updatedBy: row.user, updatedAt: row.ts } : null;
  };
  let base: NotifyPolicy | undefined;
  /** The version the running notifier has (refresh() applies newer ones saved by another process). */
  let applied = 0;
  const listeners: Array<(policy: NotifyPolicy) => void> = [];

  /** Normalises phones, checks Zalo ids and unique ids, then the policy schema on the merged policy. */
  function check(input: unknown): { data: DirectoryData; policy: NotifyPolicy } {
    if (!base) throw new HttpError(409, 'notify_not_configured', 'notifications are not configured (no policy file): nothing to edit');
    const shape = inputSchema.safeParse(input);
    if (!shape.success)
      throw new InvalidInputError(
        'invalid_recipients',
        shape.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.message })),
      );
    const issues: FieldIssue[] = [];
    const recipients = shape.data.recipients.map((r, i) => {
      if (!r || typeof r !== 'object') return r;
      const out = { ...(r as Record<string, unknown>) };
      for (const key of ['phone', 'email', 'webhookUrl', 'zaloUserId'] as const) {
        if (typeof out[key] === 'string') out[key] = (out[key] as string).trim();
        if (out[key] === '') delete out[key];
      }
      if (typeof out.phone === 'string') {
        const phone = normalisePhone(out.phone);
        if (phone) out.phone = phone;
        else
          issues.push({ path: `recipients.${i}.phone`, message: 'not a Vietnamese phone number (e.g. 0905 123 456 or +84 905 123 456)' });
      }
      if (typeof out.zaloUserId === 'string' && !ZALO_USER_ID.test(out.zaloUserId))
        issues.push({
          path: `recipients.${i}.zaloUserId`,
          message: 'must be the Zalo user id as the OA reports it (letters, digits, _ or -)',
        });
      return out;
    });
    const dupes = (list: unknown[], key: string) => {
      const seen = new Set<unknown>();
      list.forEach((x, i) => {
        const id = (x as { id?: unknown } | null)?.id;
        if (id === undefined) return;
        if (seen.has(id)) issues.push({ path: `${key}.${i}.id`, message: `duplicate id "${String(id)}"` });
        seen.add(id);
      });
    };
    dupes(recipients, 'recipients');
    dupes(shape.data.groups, 'groups');
    dupes(shape.data.routes, 'routes');
    const parsed = notifyPolicySchema.safeParse({ ...base, recipients, groups: shape.data.groups, routes: shape.data.routes });
    if (!parsed.success) issues.push(...parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.message })));
    if (issues.length || !parsed.success) throw new InvalidInputError('invalid_recipients', issues);
    return { data: pick(parsed.data), policy: parsed.data };
  }

  const merged = (data: DirectoryData): NotifyPolicy => notifyPolicySchema.parse({ ...base, ...data });

  return {
    /**
     * The notifier's policy file is known: seed version 1 from it if the DB has none, and answer the policy
     * to run with (the file's, with the DB's recipients and escalation).
     */
    attach(policy: NotifyPolicy): NotifyPolicy {
      base = policy;
      let cur = read();
      const fromFile = pick(policy);
      fromFile.recipients = fromFile.recipients.map((r) =>
        r.phone && normalisePhone(r.phone) ? { ...r, phone: normalisePhone(r.phone) } : r,
      );
      // Never edited in the dashboard and the file changed: the file is the new version (as for the registry).
      if (cur && cur.updatedBy === 'system' && JSON.stringify(cur.data) !== JSON.stringify(fromFile)) {
        insert.run(cur.version + 1, JSON.stringify(fromFile), 'system', now());
        logger.info(
          { version: cur.version + 1 },
          'notification policy file changed and recipients were never edited here: the file is the new version',
        );
        cur = read();
      } else if (cur && cur.updatedBy !== 'system' && JSON.stringify(cur.data) !== JSON.stringify(fromFile)) {
        logger.info(
          { version: cur.version, by: cur.updatedBy },
          'recipients/escalation as edited in the dashboard (the policy file differs; the dashboard version stays)',
        );
      }
      applied = cur?.version ?? 1;
      if (!cur) {
        // Phones stored as the editor will save them (84…), so the first admin edit does not show every one as changed.
        insert.run(1, JSON.stringify(fromFile), 'system', now());
        return policy;
      }
      try {
        return merged(cur.data);
      } catch (err) {
        // e.g. the file no longer configures a provider a stored recipient uses: keep notifying with the file's list.
        logger.error(
          { err: (err as Error).message, version: cur.version },
          'stored notification recipients do not fit the policy file; using the file until an admin saves a valid version',
        );
        return policy;
      }
    },
    configured: () => base !== undefined,
    current(): DirectoryView {
      const cur = read();
      const channels = base ? CHANNELS.filter((c) => providerOf(c) in base!.providers) : [];
      return {
        configured: base !== undefined,
        version: cur?.version ?? 0,
        recipients: cur?.data.recipients ?? [],
        groups: cur?.data.groups ?? [],
        routes: cur?.data.routes ?? [],
        updatedBy: cur?.updatedBy ?? null,
        updatedAt: cur?.updatedAt ?? null,
        channels,
      };
    },
    /** Validates and stores a new version; 409 when `baseVersion` is not the current one. Listeners get the new policy. */
    replace(baseVersion: number | undefined, input: unknown, user: string): { view: DirectoryView; previous: DirectoryData | null } {
      const { data, policy } = check(input);
      let previous: DirectoryData | null = null;
      db.transaction(() => {
        const cur = read();
        const version = cur?.version ?? 0;
        if (baseVersion !== undefined && baseVersion !== version)
          throw new HttpError(409, 'conflict', `recipients changed meanwhile: now version ${version} by ${cur?.updatedBy ?? '—'}`);
        previous = cur?.data ?? null;
        insert.run(version + 1, JSON.stringify(data), user, now());
        applied = version + 1;
      })();
      for (const l of listeners) {
        try {
          l(policy);
        } catch (err) {
          logger.error({ err }, 'applying the new notification recipients failed');
        }
      }
      return { view: this.current(), previous };
    },
    onChange(listener: (policy: NotifyPolicy) => void): void {
      listeners.push(listener);
    },
    /** Applies a version another dashboard process sharing the state DB saved; true when there was one. */
    refresh(): boolean {
      const cur = read();
      if (!base || !cur || cur.version <= applied) return false;
      applied = cur.version;
      let policy: NotifyPolicy;
      try {
        policy = merged(cur.data);
      } catch (err) {
        logger.error(
          { err: (err as Error).message, version: cur.version },
          'stored notification recipients do not fit the policy file; not applied',
        );
        return false;
      }
      for (const l of listeners) l(policy);
      return true;
    },
    /** Forgets the policy (the alarms module closed). */
    detach(): void {
      base = undefined;
      listeners.length = 0;
    },
  };
}
export type NotifyDirectory = ReturnType<typeof createNotifyDirectory>;
