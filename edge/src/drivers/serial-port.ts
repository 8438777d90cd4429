import { SerialPort } from 'serialport';
import type { Logger } from '@tamky/service-kit';
import { backoffDelay } from '@tamky/service-kit';
import type { LinkStateListener } from './types';

export interface SerialSettings {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

export interface ResilientPort {
  isOpen(): boolean;
  write(data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * A serial port that comes back: when it cannot be opened, or closes under us (USB adapter unplugged,
 * serialport emits 'close' with disconnected), it is reopened with exponential backoff and jitter
 * until close() is called. Bytes received go to `onData`.
 */
export function openResilientPort(
  settings: SerialSettings,
  handlers: { onData(chunk: Buffer): void; onState?: LinkStateListener },
  log: Logger,
  backoff = { baseMs: 500, maxMs: 30_000 },
): ResilientPort {
  let port: SerialPort | undefined;
  let open = false;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;

  const scheduleReopen = (why: string) => {
    if (closed || timer) return;
    const delay = backoffDelay(attempt++, backoff.baseMs, backoff.maxMs);
    log.warn({ path: settings.path, why, retryInMs: delay }, 'serial port unavailable; will reopen');
    timer = setTimeout(
      () => {
        timer = undefined;
        tryOpen();
      },
      Math.max(delay, 50),
    );
  };

  const tryOpen = () => {
    if (closed) return;
    const p = new SerialPort({
      path: settings.path,
      baudRate: settings.baudRate,
      dataBits: settings.dataBits,
      parity: settings.parity,
      stopBits: settings.stopBits,
      autoOpen: false,
    });
    port = p;
    p.on('data', (chunk: Buffer) => handlers.onData(chunk));
    p.on('error', (err) => log.warn({ path: settings.path, err: err.message }, 'serial port error'));
    p.on('close', () => {
      if (port !== p) return;
      const was = open;
      open = false;
      if (was) handlers.onState?.('closed', `serial port ${settings.path} closed`);
      scheduleReopen('closed');
    });
    p.open((err) => {
      if (port !== p) return;
      if (err) {
        scheduleReopen(err.message);
        return;
      }
      if (closed) {
        p.close();
        return;
      }
      open = true;
      attempt = 0;
      log.info({ path: settings.path, baudRate: settings.baudRate }, 'serial port open');
      handlers.onState?.('open', `serial port ${settings.path} open`);
    });
  };

  tryOpen();

  return {
    isOpen: () => open,
    write: (data) =>
      new Promise((resolve, reject) => {
        if (!port || !open) return reject(new Error(`serial port ${settings.path} is not open`));
        port.write(data, (err) => {
          if (err) reject(err);
        });
        port.drain((err) => (err ? reject(err) : resolve()));
      }),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      const p = port;
      port = undefined;
      open = false;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    },
  };
}
