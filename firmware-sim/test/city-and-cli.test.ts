import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cityModelSchema } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { startPtyPair, waitFor } from '@tamky/test-support';
import { startSimulatedCity } from '../src/index';
import { mbpoll, mbpollValues } from './helpers';

const ROOT = join(import.meta.dirname, '..', '..');
const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('startSimulatedCity', () => {
  it('serves every device of config/tam-ky/city.yaml on its own port, readable by mbpoll', async () => {
    const city = loadConfigFile(join(ROOT, 'config/tam-ky/city.yaml'), cityModelSchema);
    const sim = await startSimulatedCity({ city, seed: 3, speed: 3600, startAt: Date.parse('2025-03-04T05:00:00+07:00'), tickMs: 200 });
    cleanup.push(() => sim.close());
    expect(sim.endpoints.size).toBe(city.devices.length);
    expect(new Set([...sim.endpoints.values()].map((e) => e.port)).size).toBe(city.devices.length);
    const byKind = (kind: string) => city.devices.find((d) => d.kind === kind)!.id;
    const air = sim.endpoints.get(byKind('air_station'))!;
    expect(air.unitId).toBe(255);
    expect(sim.endpoints.get(byKind('water_level'))!.unitId).toBe(12);
    const res = await mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(air.port), '-a', '255', '-r', '3', '-c', '8', '127.0.0.1']);
    expect(mbpollValues(res.stdout).size).toBe(8);
    // speed 3600: an hour per second of simulated time.
    const t0 = sim.now();
    await waitFor(() => sim.now() - t0 > 3_600_000, { what: 'an hour of simulated time', timeoutMs: 10_000 });
    // The tick keeps devices current without anyone polling: a pinned noise level still reaches the wire.
    const noise = byKind('noise_meter');
    sim.devices.get(noise)!.pin('holding', 0, 536);
    const n = await mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(sim.endpoints.get(noise)!.port), '-a', '1', '-r', '0', '127.0.0.1']);
    expect(mbpollValues(n.stdout).get(0)).toBe(536);
  });
});

describe('scenario CLI', () => {
  it('prints endpoints as JSON, applies --fault, and serves --serial devices over RTU', async () => {
    const pty = await startPtyPair();
    cleanup.push(() => pty.stop());
    const child = spawn(
      join(ROOT, 'node_modules/.bin/tsx'),
      [
        join(ROOT, 'firmware-sim/src/cli.ts'),
        '--gateways',
        '2',
        '--devices',
        '3',
        '--speed',
        '60',
        '--seed',
        '9',
        '--fault',
        'gw-1-noise-meter-2:no_answer',
        '--serial',
        `${pty.a}:noise_meter:7`,
        '--control-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
    const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), {
      what: `CLI endpoints JSON (stderr: ${err})`,
      timeoutMs: 30_000,
    });
    const endpoints = JSON.parse(line) as {
      devices: Array<{ id: string; kind: string; gateway: string; host: string; port: number; unitId: number }>;
      serial: Array<{ id: string; path: string; unitId: number }>;
      control: { host: string; port: number };
    };
    expect(endpoints.devices).toHaveLength(6);
    expect(endpoints.devices.map((d) => d.gateway).sort()).toEqual(['gw-1', 'gw-1', 'gw-1', 'gw-2', 'gw-2', 'gw-2']);
    const air = endpoints.devices.find((d) => d.kind === 'air_station')!;
    const ok = await mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(air.port), '-a', String(air.unitId), '-r', '3', '-c', '8', air.host]);
    expect(ok.code, ok.stderr).toBe(0);
    const faulty = endpoints.devices.find((d) => d.id === 'gw-1-noise-meter-2')!;
    const silent = await mbpoll(['-m', 'tcp', '-0', '-1', '-o', '1', '-p', String(faulty.port), '-a', '1', '-r', '0', faulty.host]);
    expect(silent.stderr + silent.stdout).toMatch(/timed out/i);
    expect(endpoints.serial).toEqual([expect.objectContaining({ path: pty.a, unitId: 7 })]);
    const rtu = await mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-0', '-1', '-a', '7', '-r', '100', pty.b]);
    expect(mbpollValues(rtu.stdout).get(100)).toBe(7901);

    // The control API injects and clears faults in the running simulator, and /metrics counts what happened.
    const control = `http://${endpoints.control.host}:${endpoints.control.port}`;
    const inject = await fetch(`${control}/devices/${air.id}/faults`, {
      method: 'POST',
      body: JSON.stringify({ type: 'exception', code: 4 }),
    });
    expect(inject.status).toBe(204);
    const failing = await mbpoll([
      '-m',
      'tcp',
      '-0',
      '-1',
      '-p',
      String(air.port),
      '-a',
      String(air.unitId),
      '-r',
      '3',
      '-c',
      '8',
      air.host,
    ]);
    expect(failing.stderr + failing.stdout).toMatch(/Slave device or server failure/i);
    expect((await fetch(`${control}/devices/${air.id}/faults`, { method: 'POST', body: JSON.stringify({ type: 'melt' }) })).status).toBe(
      400,
    );
    expect((await fetch(`${control}/devices/${air.id}/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${control}/devices/${air.id}/pins/holding/7`, { method: 'PUT', body: JSON.stringify({ raw: 77 }) })).status).toBe(
      204,
    );
    const pinned = await mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(air.port), '-a', String(air.unitId), '-r', '7', air.host]);
    expect(mbpollValues(pinned.stdout).get(7)).toBe(77);
    const list = (await (await fetch(`${control}/devices`)).json()) as Array<{ id: string; faults: unknown[] }>;
    expect(list.find((d) => d.id === faulty.id)!.faults).toEqual([{ type: 'no_answer' }]);
    const metricsText = await (await fetch(`${control}/metrics`)).text();
    expect(metricsText).toMatch(new RegExp(`firmware_sim_requests_total\\{[^}]*device="${air.id}"[^}]*outcome="exception"[^}]*\\} 1`));
    expect(metricsText).toMatch(new RegExp(`firmware_sim_requests_total\\{[^}]*device="${faulty.id}"[^}]*outcome="silent"`));
  });

  it('rejects a bad fault with a message naming it', async () => {
    const child = spawn(
      join(ROOT, 'node_modules/.bin/tsx'),
      [join(ROOT, 'firmware-sim/src/cli.ts'), '--gateways', '1', '--devices', '1', '--fault', 'gw-1-air-station-1:melt'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/unknown fault "melt"/);
  });
});
