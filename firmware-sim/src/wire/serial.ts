import { SerialPort } from 'serialport';

export interface SerialOptions {
  path: string;
  baudRate: number;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
}

export async function openSerial(opts: SerialOptions): Promise<SerialPort> {
  const port = new SerialPort({
    path: opts.path,
    baudRate: opts.baudRate,
    parity: opts.parity ?? 'none',
    stopBits: opts.stopBits ?? 1,
    dataBits: 8,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new Error(`cannot open ${opts.path}: ${err.message}`)) : resolve())),
  );
  return port;
}

export async function closeSerial(port: SerialPort): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}
