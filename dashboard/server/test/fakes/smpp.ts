import smpp, { type Session } from 'smpp';
import type { AddressInfo } from 'node:net';

/** A real SMSC peer from the smpp package: binds, accepts submit_sm, sends delivery receipts and MO messages as deliver_sm. */
export async function startFakeSmsc(opts: { systemId?: string; password?: string; receiptDelayMs?: number } = {}) {
  const systemId = opts.systemId ?? 'ioc';
  const password = opts.password ?? 'pw';
  const sessions = new Set<Session>();
  const messages: Array<{ from: string; to: string; text: string; messageId: string }> = [];
  const receipts: string[] = [];
  let nextId = 1;
  const server = smpp.createServer((session: Session) => {
    session.on('error', () => undefined);
    session.on('bind_transceiver', (pdu) => {
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        session.close();
        return;
      }
      sessions.add(session);
      session.send(pdu.response());
    });
    session.on('close', () => sessions.delete(session));
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu) => {
      session.send(pdu.response());
      session.close();
    });
    session.on('submit_sm', (pdu) => {
      const messageId = `smsc-${nextId++}`;
      const raw = pdu.short_message ?? pdu.message_payload;
      const text = typeof raw === 'object' && raw && 'message' in raw ? String(raw.message) : String(raw ?? '');
      messages.push({ from: String(pdu.source_addr), to: String(pdu.destination_addr), text, messageId });
      session.send(pdu.response({ message_id: messageId }));
      if (pdu.registered_delivery) {
        setTimeout(() => {
          receipts.push(messageId);
          session.deliver_sm({
            source_addr: pdu.destination_addr,
            destination_addr: pdu.source_addr,
            esm_class: 0x04,
            short_message: `id:${messageId} sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 stat:DELIVRD err:000 text:`,
            receipted_message_id: messageId,
            message_state: 2,
          });
        }, opts.receiptDelayMs ?? 20);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `smpp://127.0.0.1:${port}`,
    systemId,
    password,
    messages,
    receipts,
    /** A reply typed on a phone (mobile originated) towards our short code. */
    sendMo(from: string, to: string, text: string): void {
      for (const s of sessions) s.deliver_sm({ source_addr: from, destination_addr: to, esm_class: 0, short_message: text });
    },
    async close() {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
