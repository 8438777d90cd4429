import { randomUUID } from 'node:crypto';
import type { CommandResult } from '@tamky/protocol';
import type { Outbox } from '@tamky/edge';
import type { Logger } from '@tamky/service-kit';
import { downlinkTopic, type AckEvent, type DownlinkCommand, type TxAckEvent } from './chirpstack/events';

interface PendingRow {
  queue_item_id: string;
  command_id: string;
  device: string;
  field: string;
  value: number;
  deadline: number;
  tx_gateway: string | null;
}

export type DownlinkOutcome = 'acked' | 'nacked' | 'timeout' | 'publish-failed';

/**
 * Lamp commands as confirmed downlinks. A command is recorded as pending (keyed by the queue item id we give
 * ChirpStack, which comes back in its ack and txack events) before the downlink is published; its result, a
 * protocol CommandResult on the connector's cmd-result topic like any gateway's, is committed to the outbox
 * in the same transaction that ends the pending row: acknowledged → ok, not acknowledged or no ack event by
 * the profile's deadline → failed. Pending rows live in the outbox's database, so a restart neither forgets
 * a command nor answers one twice.
 */
export class Downlinks {
  private readonly stmt;

  constructor(
    private readonly outbox: Outbox,
    private readonly gatewayId: string,
    private readonly publishDown: (topic: string, payload: string) => Promise<void>,
    private readonly onOutcome: (outcome: DownlinkOutcome) => void,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.stmt = outbox.transaction((db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS lorawan_downlinks (queue_item_id TEXT PRIMARY KEY, command_id TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL, value REAL NOT NULL, deadline INTEGER NOT NULL, tx_gateway TEXT);
        CREATE TABLE IF NOT EXISTS lorawan_applications (dev_eui TEXT PRIMARY KEY, application_id TEXT NOT NULL);
      `);
      return {
        insert: db.prepare<[string, string, string, string, number, number]>(
          'INSERT INTO lorawan_downlinks (queue_item_id, command_id, device, field, value, deadline) VALUES (?, ?, ?, ?, ?, ?)',
        ),
        get: db.prepare<[string]>('SELECT * FROM lorawan_downlinks WHERE queue_item_id = ?'),
        remove: db.prepare<[string]>('DELETE FROM lorawan_downlinks WHERE queue_item_id = ?'),
        txAck: db.prepare<[string, string]>('UPDATE lorawan_downlinks SET tx_gateway = ? WHERE queue_item_id = ?'),
        expired: db.prepare<[number]>('SELECT * FROM lorawan_downlinks WHERE deadline <= ?'),
        pending: db.prepare('SELECT COUNT(*) AS n FROM lorawan_downlinks'),
        setApp: db.prepare<[string, string]>(
          'INSERT INTO lorawan_applications (dev_eui, application_id) VALUES (?, ?) ON CONFLICT (dev_eui) DO UPDATE SET application_id = excluded.application_id',
        ),
        app: db.prepare<[string]>('SELECT application_id FROM lorawan_applications WHERE dev_eui = ?'),
      };
    });
  }

  /** ChirpStack's application of a device, learnt from its events (a downlink topic needs it). */
  noteApplication(devEui: string, applicationId: string): void {
    this.stmt.setApp.run(devEui, applicationId);
  }

  applicationOf(devEui: string): string | undefined {
    return (this.stmt.app.get(devEui) as { application_id: string } | undefined)?.application_id;
  }

  pendingCount(): number {
    return (this.stmt.pending.get() as { n: number }).n;
  }

  /** Commits a failed result for a command that never became a downlink (unknown device, no codec…). */
  refuse(commandId: string, error: string): void {
    this.result({ id: commandId, gateway: this.gatewayId, ok: false, ts: this.now(), error });
  }

  async send(
    cmd: { commandId: string; device: string; devEui: string; field: string; value: number },
    down: { applicationId: string; bytes: Uint8Array; fPort: number; ackTimeoutMs: number },
  ): Promise<void> {
    const queueItemId = randomUUID();
    this.stmt.insert.run(queueItemId, cmd.commandId, cmd.device, cmd.field, cmd.value, this.now() + down.ackTimeoutMs);
    const payload: DownlinkCommand = {
      id: queueItemId,
      devEui: cmd.devEui,
      confirmed: true,
      fPort: down.fPort,
      data: Buffer.from(down.bytes).toString('base64'),
    };
    try {
      await this.publishDown(downlinkTopic(down.applicationId, cmd.devEui), JSON.stringify(payload));
      this.log.info({ command: cmd.commandId, device: cmd.device, queueItemId }, 'downlink queued in ChirpStack');
    } catch (err) {
      this.finish(queueItemId, 'publish-failed', `cannot reach ChirpStack: ${(err as Error).message}`);
    }
  }

  onAck(ev: AckEvent): void {
    if (ev.acknowledged) this.finish(ev.queueItemId, 'acked', undefined, { fCntDown: ev.fCntDown });
    else this.finish(ev.queueItemId, 'nacked', 'the device did not acknowledge the downlink');
  }

  onTxAck(ev: TxAckEvent): void {
    this.stmt.txAck.run(ev.gatewayId || 'unknown', ev.queueItemId);
  }

  /** Fails every command whose ack deadline passed. */
  expire(): void {
    for (const row of this.stmt.expired.all(this.now()) as PendingRow[]) {
      const sent = row.tx_gateway ? `sent through LoRa gateway ${row.tx_gateway}, ` : 'never transmitted, ';
      this.finish(row.queue_item_id, 'timeout', `${sent}no acknowledgement from the device in time`);
    }
  }

  private finish(queueItemId: string, outcome: DownlinkOutcome, error?: string, extra?: Record<string, unknown>): void {
    const done = this.outbox.transaction(() => {
      const row = this.stmt.get.get(queueItemId) as PendingRow | undefined;
      if (!row) return false;
      this.stmt.remove.run(queueItemId);
      const ok = outcome === 'acked';
      this.result({
        id: row.command_id,
        gateway: this.gatewayId,
        ok,
        ts: this.now(),
        ...(error ? { error } : {}),
        data: { device: row.device, field: row.field, value: row.value, queueItemId, ...extra },
      });
      return true;
    });
    if (done) this.onOutcome(outcome);
  }

  private result(r: CommandResult): void {
    this.outbox.addMessage('cmd-result', r);
  }
}
