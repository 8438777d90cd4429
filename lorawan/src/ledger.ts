import type { Outbox } from '@tamky/edge';

export type UplinkOutcome = 'reading' | 'dead-letter';

/**
 * Which uplinks the connector has already turned into something, kept in the outbox's own database and
 * written in the same transaction as the reading (or dead letter) it produced. So an uplink gets exactly one
 * gateway sequence number whatever happens around it:
 *   - ChirpStack's broker redelivers an event the connector committed but had not acked (a crash between the
 *     two): same deduplicationId → already done;
 *   - a LoRa gateway's copy arrives after ChirpStack's de-duplication window and becomes a second event:
 *     same (DevEUI, DevAddr, frame counter) within `lateCopyWindowMs` → already done;
 *   - the device rejoined and its frame counter restarted: a new DevAddr and/or a receive time far from the
 *     earlier frame with that counter → a new reading (nothing refused).
 * The reading's time is ChirpStack's receive time of the uplink, so the store's (kind, device, ts) key agrees.
 */
export class UplinkLedger {
  private readonly stmt;

  constructor(
    private readonly outbox: Outbox,
    private readonly lateCopyWindowMs: number,
  ) {
    this.stmt = outbox.transaction((db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS lorawan_uplinks (dedup_id TEXT PRIMARY KEY, dev_eui TEXT NOT NULL, dev_addr TEXT NOT NULL, f_cnt INTEGER NOT NULL, ts INTEGER NOT NULL, outcome TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS lorawan_uplinks_frame ON lorawan_uplinks (dev_eui, f_cnt, ts);
      `);
      return {
        byId: db.prepare<[string]>('SELECT 1 FROM lorawan_uplinks WHERE dedup_id = ?'),
        lateCopy: db.prepare<[string, string, number, number, number]>(
          'SELECT 1 FROM lorawan_uplinks WHERE dev_eui = ? AND dev_addr = ? AND f_cnt = ? AND ts BETWEEN ? AND ?',
        ),
        insert: db.prepare<[string, string, string, number, number, string]>(
          'INSERT INTO lorawan_uplinks (dedup_id, dev_eui, dev_addr, f_cnt, ts, outcome) VALUES (?, ?, ?, ?, ?, ?)',
        ),
        prune: db.prepare<[number]>('DELETE FROM lorawan_uplinks WHERE ts < ?'),
      };
    });
  }

  /**
   * Runs `produce` (which adds the reading or dead letter to the outbox) and records the uplink, in one
   * transaction, unless the uplink is a copy of one already recorded. Returns what happened.
   */
  once(
    up: { dedupId: string; devEui: string; devAddr: string; fCnt: number; ts: number },
    produce: () => UplinkOutcome,
  ): UplinkOutcome | 'redelivery' | 'late-copy' {
    return this.outbox.transaction(() => {
      if (this.stmt.byId.get(up.dedupId)) return 'redelivery';
      const w = this.lateCopyWindowMs;
      if (this.stmt.lateCopy.get(up.devEui, up.devAddr, up.fCnt, up.ts - w, up.ts + w)) return 'late-copy';
      const outcome = produce();
      this.stmt.insert.run(up.dedupId, up.devEui, up.devAddr, up.fCnt, up.ts, outcome);
      return outcome;
    });
  }

  /** Forgets uplinks older than `before` (ChirpStack's broker will not redeliver them any more). */
  prune(before: number): number {
    return this.stmt.prune.run(before).changes;
  }
}
