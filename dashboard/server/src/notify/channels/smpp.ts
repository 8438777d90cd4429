import smpp, { type PDU, type Session } from 'smpp';
import type { Logger } from '@tamky/service-kit';
import { foldVietnamese } from '../text';
import type { Channel, SendOutcome } from './types';

export interface SmppConfig {
  url: string;
  systemId: string;
  password: string;
  sourceAddr: string;
  timeoutMs: number;
}

export interface SmppEvents {
  /** deliver_sm with the receipt bit: message id and whether it reached the handset. */
  onReceipt(messageId: string, delivered: boolean, stat: string): void;
  /** deliver_sm without it: a reply from a phone (mobile originated). */
  onMessage(from: string, text: string): void;
}

const THROTTLED = new Set([0x58 /* ESME_RTHROTTLED */, 0x14 /* ESME_RMSGQFUL */, 0x08 /* ESME_RSYSERR */]);
const BAD_ADDRESS = new Set([0x0b /* ESME_RINVDSTADR */, 0x0a /* ESME_RINVSRCADR */]);

/**
 * SMS through an operator's SMSC over SMPP 3.4 (npm smpp): one bound transceiver session, reconnected on
 * demand; delivery receipts and replies both arrive as deliver_sm on the same session.
 */
export function createSmppChannel(cfg: SmppConfig, events: SmppEvents, logger?: Logger): Channel {
  let session: Session | undefined;
  let binding: Promise<Session> | undefined;
  let closed = false;

  function bind(): Promise<Session> {
    if (session) return Promise.resolve(session);
    binding ??= new Promise<Session>((resolve, reject) => {
      const s = smpp.connect({ url: cfg.url, auto_enquire_link_period: 10_000 });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error('smpp bind timeout'));
      }, cfg.timeoutMs);
      s.on('error', (err: Error) => {
        clearTimeout(timer);
        logger?.warn({ err: err.message }, 'smpp session error');
        reject(err);
      });
      s.on('close', () => {
        if (session === s) session = undefined;
      });
      s.on('deliver_sm', (pdu: PDU) => {
        s.send(pdu.response());
        handleDeliver(pdu);
      });
      s.on('enquire_link', (pdu: PDU) => s.send(pdu.response()));
      s.on('connect', () =>
        s.bind_transceiver({ system_id: cfg.systemId, password: cfg.password }, (pdu) => {
          clearTimeout(timer);
          if (pdu.command_status !== 0) {
            s.close();
            reject(new Error(`smpp bind failed: status ${pdu.command_status}`));
            return;
          }
          session = s;
          resolve(s);
        }),
      );
    }).finally(() => (binding = undefined));
    return binding;
  }

  function text(value: unknown): string {
    if (value === undefined || value === null) return '';
    if (Buffer.isBuffer(value)) return value.toString();
    if (typeof value === 'object' && 'message' in (value as object)) return text((value as { message: unknown }).message);
    return String(value);
  }

  function handleDeliver(pdu: PDU): void {
    const body = text(pdu.short_message) || text(pdu.message_payload);
    if ((Number(pdu.esm_class) & 0x04) !== 0) {
      const id = pdu.receipted_message_id ? String(pdu.receipted_message_id) : /id:(\S+)/.exec(body)?.[1];
      const stat = /stat:(\w+)/.exec(body)?.[1] ?? (pdu.message_state === 2 ? 'DELIVRD' : 'UNKNOWN');
      if (id) events.onReceipt(id, stat === 'DELIVRD', stat);
      return;
    }
    events.onMessage(String(pdu.source_addr ?? ''), body);
  }

  return {
    async send(m): Promise<SendOutcome> {
      if (closed) return { status: 'retry', error: 'smpp channel closed' };
      let s: Session;
      try {
        s = await bind();
      } catch (err) {
        return { status: 'retry', error: `smpp: ${(err as Error).message}` };
      }
      const message = foldVietnamese(m.text);
      return new Promise<SendOutcome>((resolve) => {
        const timer = setTimeout(() => resolve({ status: 'retry', error: 'smpp submit_sm timeout' }), cfg.timeoutMs);
        s.submit_sm(
          {
            source_addr: cfg.sourceAddr,
            destination_addr: m.to,
            registered_delivery: 1,
            ...(message.length <= 160 ? { short_message: message } : { message_payload: message }),
          },
          (pdu) => {
            clearTimeout(timer);
            if (pdu.command_status === 0) resolve({ status: 'accepted', providerId: String(pdu.message_id) });
            else if (THROTTLED.has(pdu.command_status))
              resolve({ status: 'retry', error: `smpp status 0x${pdu.command_status.toString(16)}` });
            else if (BAD_ADDRESS.has(pdu.command_status))
              resolve({ status: 'permanent', error: `smpp invalid address (0x${pdu.command_status.toString(16)})` });
            else resolve({ status: 'retry', error: `smpp status 0x${pdu.command_status.toString(16)}` });
          },
        );
      });
    },
    async close() {
      closed = true;
      const s = session;
      session = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        s.unbind({}, () => {
          clearTimeout(t);
          s.close();
          resolve();
        });
      });
    },
  };
}
