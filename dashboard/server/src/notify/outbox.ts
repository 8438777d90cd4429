import type Database from 'better-sqlite3';
import type { ChannelName } from './policy';

export const NOTIFY_MIGRATIONS = [
  {
    name: 'notify/001-init',
    sql: `
      -- One row per (alarm, recipient, channel, escalation step): the idempotency key makes planning
      -- repeatable and a redelivered alarm event harmless.
      CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        alarm_id INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        -- the recipient's channel chain for this step (JSON), walked on fallback
        chain TEXT NOT NULL,
        step INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'alarm',
        locale TEXT NOT NULL,
        -- pending → sending → accepted → delivered | failed; also fallback (handed to the next channel), cancelled
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        -- rows sent together as one message share the batch id (the first row's id); its key is the provider idempotency key
        batch_id INTEGER,
        provider_id TEXT,
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        accepted_at INTEGER,
        delivered_at INTEGER
      );
      CREATE INDEX notifications_due ON notifications (state, due_at);
      CREATE INDEX notifications_alarm ON notifications (alarm_id, id);
      CREATE INDEX notifications_provider ON notifications (channel, provider_id);
      CREATE TABLE notify_escalations (
        alarm_id INTEGER NOT NULL,
        route_id TEXT NOT NULL,
        next_step INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        PRIMARY KEY (alarm_id, route_id)
      );
      CREATE TABLE notify_tokens (
        provider TEXT PRIMARY KEY,
        access_token TEXT,
        refresh_token TEXT NOT NULL,
        expires_at INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    // The text as it went to the provider, so admins can read what every recipient was sent.
    name: 'notify/002-text',
    sql: `ALTER TABLE notifications ADD COLUMN text TEXT;`,
  },
];

export type NotificationState = 'pending' | 'sending' | 'accepted' | 'delivered' | 'failed' | 'fallback' | 'cancelled';

export interface OutboxRow {
  id: number;
  key: string;
  alarm_id: number;
  recipient: string;
  channel: ChannelName;
  address: string;
  chain: string;
  step: number;
  kind: 'alarm' | 'cleared';
  locale: 'vi' | 'en';
  state: NotificationState;
  attempts: number;
  due_at: number;
  batch_id: number | null;
  provider_id: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  accepted_at: number | null;
  delivered_at: number | null;
  text: string | null;
}

export interface NewNotification {
  alarmId: number;
  recipient: string;
  channel: ChannelName;
  address: string;
  chain: ChannelName[];
  step: number;
  kind: 'alarm' | 'cleared';
  locale: 'vi' | 'en';
  dueAt: number;
}

export const notificationKey = (n: Pick<NewNotification, 'alarmId' | 'recipient' | 'channel' | 'step' | 'kind'>) =>
  `${n.alarmId}:${n.recipient}:${n.channel}:${n.kind === 'cleared' ? 'clr' : n.step}`;

/**
 * The durable outbox. Sending is claim → send → record: rows are marked `sending` in a committed
 * transaction before the provider is called, so a crash leaves them `sending`; recovery puts them back
 * with the same batch and key, and the provider's idempotency (eSMS RequestId, Zalo tracking_id) turns
 * the resend into a no-op if the first attempt had got through.
 */
export function createOutbox(db: Database.Database, now: () => number) {
  const insert =
    db.prepare(`INSERT OR IGNORE INTO notifications (key, alarm_id, recipient, channel, address, chain, step, kind, locale, state, due_at, created_at, updated_at)
    VALUES (@key, @alarmId, @recipient, @channel, @address, @chainJson, @step, @kind, @locale, 'pending', @dueAt, @now, @now)`);
  const setState = db.prepare('UPDATE notifications SET state = ?, error = ?, updated_at = ? WHERE id = ?');

  // IMMEDIATE: the write lock is taken before reading, so two server processes can never claim the same rows.
  function claimRows(maxRows: number, skipChannels: Set<string>): OutboxRow[] {
    const t = now();
    const due = db
      .prepare<[number], OutboxRow>(
        "SELECT * FROM notifications WHERE state = 'pending' AND due_at <= ? ORDER BY batch_id IS NULL, due_at, id LIMIT 200",
      )
      .all(t)
      .filter((r) => !skipChannels.has(r.channel));
    const first = due[0];
    if (!first) return [];
    const rows =
      first.batch_id !== null
        ? db
            .prepare<[number], OutboxRow>("SELECT * FROM notifications WHERE batch_id = ? AND state = 'pending' ORDER BY id")
            .all(first.batch_id)
        : due
            .filter((r) => r.batch_id === null && r.recipient === first.recipient && r.channel === first.channel && r.kind === first.kind)
            .slice(0, maxRows);
    const batch = first.batch_id ?? rows[0]!.id;
    const mark = db.prepare(
      "UPDATE notifications SET state = 'sending', batch_id = ?, attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'pending'",
    );
    for (const r of rows) mark.run(batch, t, r.id);
    return rows.map((r) => ({ ...r, state: 'sending' as const, batch_id: batch, attempts: r.attempts + 1 }));
  }
  const claim = db.transaction(claimRows);

  return {
    enqueue(n: NewNotification): boolean {
      const { chain, ...rest } = n;
      return insert.run({ ...rest, chainJson: JSON.stringify(chain), key: notificationKey(n), now: now() }).changes > 0;
    },

    /** After a restart: rows caught mid-send go back to pending, keeping their batch (and so their idempotency key). */
    recover(): number {
      return db.prepare("UPDATE notifications SET state = 'pending', due_at = ?, updated_at = ? WHERE state = 'sending'").run(now(), now())
        .changes;
    },

    /**
     * Claims the next due message: rows already batched (recovered) first, else the oldest due row together
     * with other due rows for the same recipient and channel (grouping). Returns the claimed rows, leader first.
     */
    claimNext: (maxRows: number, skipChannels: Set<string>): OutboxRow[] => claim.immediate(maxRows, skipChannels),

    /** The text handed to the provider, kept with every row it carried (before the send: a crash keeps it too). */
    recordText(ids: number[], text: string): void {
      const stmt = db.prepare('UPDATE notifications SET text = ? WHERE id = ?');
      db.transaction(() => ids.forEach((id) => stmt.run(text, id)))();
    },

    /** Every notification, newest first, a page at a time; `total` counts all rows. */
    page(limit: number, offset: number): { rows: OutboxRow[]; total: number } {
      const rows = db
        .prepare<[number, number], OutboxRow>('SELECT * FROM notifications ORDER BY id DESC LIMIT ? OFFSET ?')
        .all(limit, offset);
      const { n } = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM notifications').get()!;
      return { rows, total: n };
    },

    accepted(ids: number[], providerId: string): void {
      const stmt = db.prepare(
        "UPDATE notifications SET state = 'accepted', provider_id = ?, error = NULL, accepted_at = ?, updated_at = ? WHERE id = ? AND state = 'sending'",
      );
      db.transaction(() => ids.forEach((id) => stmt.run(providerId, now(), now(), id)))();
    },

    retryLater(ids: number[], dueAt: number, error: string): void {
      const stmt = db.prepare("UPDATE notifications SET state = 'pending', due_at = ?, error = ?, updated_at = ? WHERE id = ?");
      db.transaction(() => ids.forEach((id) => stmt.run(dueAt, error, now(), id)))();
    },

    /** Also releases the rows from their batch: a later message (e.g. after fallback) is a new one. */
    finish(ids: number[], state: 'failed' | 'fallback' | 'cancelled', error: string | null): void {
      db.transaction(() => ids.forEach((id) => setState.run(state, error, now(), id)))();
    },

    /** Delivery receipts and callbacks: accepted → delivered | failed. */
    receipt(channel: string, providerId: string, delivered: boolean, error?: string): number {
      return db
        .prepare(
          `UPDATE notifications SET state = ?, delivered_at = ?, error = ?, updated_at = ? WHERE channel = ? AND provider_id = ? AND state IN ('accepted', 'sending')`,
        )
        .run(delivered ? 'delivered' : 'failed', delivered ? now() : null, error ?? null, now(), channel, providerId).changes;
    },

    cancelPending(alarmId: number, reason: string): number {
      return db
        .prepare(
          "UPDATE notifications SET state = 'cancelled', error = ?, updated_at = ? WHERE alarm_id = ? AND state = 'pending' AND kind = 'alarm' AND batch_id IS NULL",
        )
        .run(reason, now(), alarmId).changes;
    },

    forAlarm(alarmId: number): OutboxRow[] {
      return db.prepare<[number], OutboxRow>('SELECT * FROM notifications WHERE alarm_id = ? ORDER BY id').all(alarmId);
    },

    byBatch(batchId: number): OutboxRow[] {
      return db.prepare<[number], OutboxRow>('SELECT * FROM notifications WHERE batch_id = ? ORDER BY id').all(batchId);
    },

    /** Alarms still active (not acknowledged or cleared) that this recipient was sent. */
    activeNotifiedAlarms(recipient: string): number[] {
      return (
        db
          .prepare(
            "SELECT DISTINCT n.alarm_id AS id FROM notifications n JOIN alarms a ON a.id = n.alarm_id WHERE n.recipient = ? AND n.state IN ('accepted', 'delivered') AND a.state = 'active' ORDER BY n.alarm_id",
          )
          .all(recipient) as Array<{ id: number }>
      ).map((r) => r.id);
    },

    wasNotified(alarmId: number, recipient: string): boolean {
      return !!db
        .prepare("SELECT 1 FROM notifications WHERE alarm_id = ? AND recipient = ? AND state IN ('accepted', 'delivered', 'sending')")
        .get(alarmId, recipient);
    },
  };
}
export type Outbox = ReturnType<typeof createOutbox>;
