import type { Writable } from 'node:stream';

/**
 * mqtt-packet corks a socket per packet and uncorks it on the next tick, and aedes delivers each message from
 * its own setImmediate, so a subscriber receiving a fan-in gets one write syscall per message. Holding one
 * extra cork until the end of the event-loop turn coalesces every packet written in that turn into a single
 * writev. Backpressure is unchanged: corked bytes count towards the stream's buffer, so write() still returns
 * false (and aedes waits for 'drain', bounded by drainTimeout) when a subscriber falls behind.
 */
export function batchWritesPerTurn(stream: Writable): void {
  let corked = false;
  const flush = () => {
    corked = false;
    if (!stream.destroyed) stream.uncork();
  };
  const write = stream.write;
  stream.write = function batchedWrite(this: Writable, ...args: Parameters<Writable['write']>) {
    if (!corked && !stream.destroyed) {
      corked = true;
      stream.cork();
      setImmediate(flush);
    }
    return write.apply(this, args);
  } as Writable['write'];
}
