import type { Client } from 'aedes';
import { parserOf, type MqttParser } from '../aedes-adapter';

/**
 * aedes has no packet-size option, so the limit is applied inside the client's own mqtt-packet parser: right
 * after the fixed header's "remaining length" is decoded, before any payload is buffered. A too-large packet
 * becomes a parser error, which aedes turns into closing the connection; so does a malformed one. The limit is
 * on the remaining length (the packet minus its 2-5 byte fixed header), like mosquitto's message_size_limit.
 */
export function guardParser(
  client: Client,
  maxBytes: number,
  on: { tooLarge(declared: number): void; malformed(err: Error): void },
): boolean {
  const parser = parserOf(client);
  if (!parser) return false; // aedes internals changed: caller reports it
  const parseLength = parser._parseLength;
  let tooLarge = false;
  parser._parseLength = function guardedParseLength(this: MqttParser) {
    const done = parseLength.call(this);
    if (done && this.packet.length > maxBytes) {
      tooLarge = true;
      on.tooLarge(this.packet.length);
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the ${maxBytes}-byte limit`));
      return false;
    }
    return done;
  };
  parser.on('error', (err) => {
    if (!tooLarge) on.malformed(err);
  });
  return true;
}
