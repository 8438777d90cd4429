import { execFile } from 'node:child_process';
import type { Device, DeviceKind } from '@tamky/protocol';
import { requireBinary } from '@tamky/test-support';
import { TAM_KY } from '../src/index';

export const city = { ...TAM_KY };

export interface PeerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a peer asynchronously (the slave under test lives in this process, so never block the loop). */
export function run(command: string, args: string[], timeoutMs = 20_000): Promise<PeerResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function mbpoll(args: string[]): Promise<PeerResult> {
  return run(requireBinary('mbpoll', 'mbpoll'), args);
}

/** `[addr]: value` lines of mbpoll's output, in order. */
export function mbpollValues(out: string): Map<number, number> {
  const values = new Map<number, number>();
  for (const m of out.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)) values.set(Number(m[1]), Number(m[2]));
  return values;
}

export function device(kind: DeviceKind, extra: Partial<Device> = {}): Device {
  return {
    id: `test-${kind.replace(/_/g, '-')}`,
    kind,
    name: kind,
    ward: 'an-my',
    gateway: 'gw-an-my',
    lat: 15.57,
    lon: 108.47,
    pollIntervalMs: 5000,
    tags: [],
    ...(kind === 'water_level' ? { mountingHeightM: 6, alarmLevels: [2, 3, 4] as [number, number, number] } : {}),
    ...(kind === 'street_light' ? { lamps: 4, ratedPowerW: 100 } : {}),
    ...(kind === 'traffic_counter' ? { lanes: 2 } : {}),
    ...extra,
  };
}

/** Python with Debian's pymodbus (the python3 first on PATH lacks it). */
export const PYTHON = '/usr/bin/python3';
