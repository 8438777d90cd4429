/**
 * How fast the simulator answers on the wire, compared with a peer in the same run:
 *  - Modbus TCP: sequential FC03 reads (8 registers, the air station block) over one connection, against
 *    the simulator's CLI process and against a pymodbus server process; the ratio is the figure.
 *  - Modbus RTU over a socat pty at 9600 baud with bus-timing emulation: transactions per second against
 *    the theoretical ceiling of a real RS-485 bus ((8 + 5 + 2N) characters × 11 bits + turnaround).
 *
 *   npx tsx bench/firmware-sim/wire-rate.ts [--seconds 5]
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { charTimeMs, decodeResponse, decodeRtu, encodeRequest, encodeRtu, encodeTcp, splitTcpFrames, type Request } from '@tamky/modbus';
import { freePort, requireBinary, spawnPeer, startPtyPair, waitFor, waitForPort } from '@tamky/test-support';
import { SerialPort } from 'serialport';
import { startCpuMeter } from '../support/cpu-meter';

const ROOT = join(import.meta.dirname, '..', '..');
const READ: Request = { fc: 0x03, address: 3, count: 8 };

/** Requests per second, and the server process's CPU per request (µs). */
async function tcpRate(port: number, seconds: number, serverPid: number | undefined): Promise<{ rate: number; serverCpuUs: number }> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    const { frames, rest } = splitTcpFrames(buf);
    buf = rest;
    for (const f of frames) decodeResponse(READ, f.pdu);
    if (frames.length) waiting?.();
  });
  const pdu = encodeRequest(READ);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const server = startCpuMeter([serverPid], { self: false });
  while (Date.now() < end) {
    await new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write(encodeTcp(n & 0xffff, 255, pdu));
    });
    n++;
  }
  socket.destroy();
  return { rate: n / seconds, serverCpuUs: (server.ms() * 1000) / n };
}

async function rtuRate(path: string, seconds: number, registers: number): Promise<number> {
  const port = new SerialPort({ path, baudRate: 9600 });
  await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
  const req: Request = { fc: 0x03, address: 0, count: registers };
  const frame = encodeRtu(12, encodeRequest(req));
  const expected = 5 + 2 * registers;
  let buf: Buffer = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  port.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    if (buf.length >= expected) {
      decodeResponse(req, decodeRtu(buf.subarray(0, expected)).pdu);
      buf = Buffer.alloc(0);
      waiting?.();
    }
  });
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) {
    await new Promise<void>((resolve) => {
      waiting = resolve;
      port.write(frame);
    });
    n++;
  }
  await new Promise<void>((resolve) => port.close(() => resolve()));
  return n / seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
  const seconds = Number(values.seconds);
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const cli = join(ROOT, 'firmware-sim/src/cli.ts');

  // Simulator in its own process, like pymodbus, so the client's CPU is not counted against either.
  const pty = await startPtyPair();
  const sim = spawnPeer(tsx, [cli, '--gateways', '1', '--devices', '1', '--serial', `${pty.a}:water_level`]);
  const line = await waitFor(
    () =>
      sim
        .output()
        .split('\n')
        .find((l) => l.startsWith('{')),
    { what: 'simulator endpoints', timeoutMs: 30_000 },
  );
  const simPort = (JSON.parse(line) as { devices: Array<{ port: number }> }).devices[0]!.port;

  const pyPort = await freePort();
  const py = spawnPeer(requireBinary('/usr/bin/python3', 'python3-pymodbus'), [
    join(import.meta.dirname, 'pymodbus-server.py'),
    String(pyPort),
  ]);
  await waitForPort(pyPort, 'pymodbus server');

  try {
    const simTcp = await tcpRate(simPort, seconds, sim.child.pid);
    const pyTcp = await tcpRate(pyPort, seconds, py.child.pid);
    const registers = 9; // URM14 holding 0x00..0x08
    const rtu = await rtuRate(pty.b, seconds, registers);
    const char = charTimeMs(9600);
    // Request 8 chars + reply 5+2N chars + 2 ms turnaround, and the master's 3.5-char gap before the next request.
    const ceiling = 1000 / ((8 + 5 + 2 * registers) * char + 2 + 3.5 * char);
    console.table([
      {
        what: 'Modbus TCP FC03×8, sequential, simulator',
        perSec: Math.round(simTcp.rate),
        serverCpuUsPerRequest: Math.round(simTcp.serverCpuUs),
      },
      {
        what: 'Modbus TCP FC03×8, sequential, pymodbus 3.0.0rc1',
        perSec: Math.round(pyTcp.rate),
        serverCpuUsPerRequest: Math.round(pyTcp.serverCpuUs),
      },
      {
        what: 'ratio simulator / pymodbus',
        perSec: Number((simTcp.rate / pyTcp.rate).toFixed(2)),
        serverCpuUsPerRequest: Number((simTcp.serverCpuUs / pyTcp.serverCpuUs).toFixed(2)),
      },
      { what: `Modbus RTU 9600 baud FC03×${registers} (bus timing emulated)`, perSec: Number(rtu.toFixed(1)) },
      { what: 'theoretical RS-485 ceiling at 9600 baud', perSec: Number(ceiling.toFixed(1)) },
      { what: 'ratio RTU / ceiling', perSec: Number((rtu / ceiling).toFixed(2)) },
    ]);
  } finally {
    await sim.stop();
    await py.stop();
    await pty.stop();
  }
}

await main();
