import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { commandResultSchema, gatewayEventSchema, telemetryBatchSchema, topics, type CommandResult } from '@tamky/protocol';
import { requireBinary, startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type SimDevice, type TcpSlave } from '@tamky/firmware-sim';
import { execFile } from 'node:child_process';
import { gatewayConfigSchema, startGateway, type Gateway } from '../src/index';
import { collector } from './helpers/broker';
import { quietLog, simCity, simDevice } from './helpers/sim';

/** Reads holding registers with mbpoll, an independent Modbus master, to see what the gateway wrote. */
function mbpollHolding(port: number, unit: number, address: number): Promise<number> {
  const bin = requireBinary('mbpoll', 'mbpoll');
  return new Promise((resolve, reject) =>
    execFile(
      bin,
      ['-m', 'tcp', '-0', '-1', '-o', '1', '-a', String(unit), '-r', String(address), '-p', String(port), '127.0.0.1'],
      (err, stdout) => {
        const m = /^\[\d+\]:\s+(-?\d+)/m.exec(stdout);
        if (m) resolve(Number(m[1]));
        else reject(new Error(`mbpoll: ${err?.message ?? ''} ${stdout}`));
      },
    ),
  );
}

describe('commands from the centre', () => {
  let broker: Peer & { url: string };
  let light: SimDevice;
  let slave: TcpSlave;
  let gw: Gateway;
  let results: Awaited<ReturnType<typeof collector>>;
  let centre: MqttClient;
  const t = Date.parse('2025-03-04T12:00:00+07:00'); // midday: the astronomical clock keeps lamps off

  beforeAll(async () => {
    broker = await startMosquitto();
    light = createSimDevice(simDevice('street_light', 'light-1', { lamps: 2 }), { city: simCity, now: () => t });
    slave = await startModbusTcpSlave([light], { log: quietLog });
    results = await collector(broker.url, 'city/v1/gw/gw-cmd/#');
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-cmd',
      mqtt: { url: broker.url, reconnect: { baseMs: 100, maxMs: 1000 } },
      outbox: { path: join(tempDir('edge-cmd'), 'gw.db') },
      buses: [{ id: 'tcp-light', type: 'tcp', host: '127.0.0.1', port: slave.port, timeoutMs: 1000 }],
      devices: [
        {
          id: 'light-1',
          profile: 'street_light',
          bus: 'tcp-light',
          unitId: 1,
          pollIntervalMs: 300,
          fields: ['lamp1_status', 'lamp1_level', 'lamp2_status', 'lamp2_level', 'power', 'energy', 'voltage', 'current', 'power_factor'],
        },
        // Configured, but nothing answers at its unit id: a dead controller.
        { id: 'light-dead', profile: 'street_light', bus: 'tcp-light', unitId: 9, pollIntervalMs: 60_000, fields: ['lamp1_status'] },
      ],
    });
    gw = await startGateway(config, { logger: quietLog });
    centre = await mqtt.connectAsync(broker.url, { clientId: 'centre-test' });
    await waitFor(() => results.messages.some((m) => m.topic === topics.status('gw-cmd') && m.json.state === 'online'), {
      what: 'gateway online',
    });
  });

  afterAll(async () => {
    await gw?.close();
    await centre?.endAsync();
    await results?.close();
    await slave?.close();
    await broker?.stop();
  });

  const send = async (payload: string | object): Promise<CommandResult | undefined> => {
    const before = results.messages.length;
    await centre.publishAsync(topics.command('gw-cmd'), typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
    const id = typeof payload === 'object' ? (payload as { id: string }).id : '';
    const msg = await waitFor(
      () => results.messages.slice(before).find((m) => m.topic === topics.commandResult('gw-cmd') && m.json.id === id),
      { what: `result of ${JSON.stringify(payload)}` },
    );
    return commandResultSchema.parse(msg.json);
  };

  it('write_register to a writable field changes the device register', async () => {
    const res = await send({ id: 'c-1', type: 'write_register', device: 'light-1', field: 'lamp1_level', value: 40 });
    expect(res).toMatchObject({ id: 'c-1', gateway: 'gw-cmd', ok: true });
    expect(await mbpollHolding(slave.port, 1, 0)).toBe(40);
    const res2 = await send({ id: 'c-2', type: 'write_register', device: 'light-1', field: 'lamp2_level', value: 75 });
    expect(res2?.ok).toBe(true);
    expect(await mbpollHolding(slave.port, 1, 100)).toBe(75);
  });

  it('write_register to a read-only field, out of range or unknown device is refused with a reason', async () => {
    const ro = await send({ id: 'c-3', type: 'write_register', device: 'light-1', field: 'lamp1_status', value: 1 });
    expect(ro).toMatchObject({ ok: false });
    expect(ro!.error).toMatch(/not writable/);
    expect(ro!.code).toBe('not_writable');
    const range = await send({ id: 'c-4', type: 'write_register', device: 'light-1', field: 'lamp1_level', value: 250 });
    expect(range!.ok).toBe(false);
    expect(range!.error).toMatch(/outside/);
    const unknown = await send({ id: 'c-5', type: 'write_register', device: 'nope', field: 'lamp1_level', value: 1 });
    expect(unknown!.error).toMatch(/unknown device/);
    expect(unknown!.code).toBe('unknown_device');
  });

  it('read_now says what the devices did: a dead device fails the command, naming it; the others are still read', async () => {
    const dead = await send({ id: 'c-dead-1', type: 'read_now', device: 'light-dead' });
    expect(dead).toMatchObject({ ok: false, code: 'device_no_answer', data: { read: [], failed: [{ device: 'light-dead' }] } });
    expect(dead!.error).toMatch(/no answer from light-dead/);
    const all = await send({ id: 'c-dead-2', type: 'read_now' });
    expect(all).toMatchObject({ ok: false, code: 'device_no_answer', data: { read: ['light-1'], failed: [{ device: 'light-dead' }] } });
    const alive = await send({ id: 'c-dead-3', type: 'read_now', device: 'light-1' });
    expect(alive).toMatchObject({ ok: true, data: { read: ['light-1'] } });
  });

  it('malformed JSON, unknown types and bad fields get an error result; the gateway keeps running', async () => {
    const junk = await send('{not json');
    expect(junk).toMatchObject({ id: '', ok: false, error: 'command is not valid JSON' });
    const unknown = await send({ id: 'c-6', type: 'self_destruct' });
    expect(unknown).toMatchObject({ id: 'c-6', ok: false });
    const badInterval = await send({ id: 'c-7', type: 'set_poll_interval', device: 'light-1', intervalMs: 5 });
    expect(badInterval!.ok).toBe(false);
    const reload = await send({ id: 'c-8', type: 'reload_config' });
    expect(reload!.ok).toBe(false); // started as a library, not from a file
    const readNow = await send({ id: 'c-9', type: 'read_now', device: 'light-1' });
    expect(readNow!.ok).toBe(true);
    const interval = await send({ id: 'c-10', type: 'set_poll_interval', device: 'light-1', intervalMs: 200 });
    expect(interval!.ok).toBe(true);
    // Still polling and publishing after all that.
    const count = () =>
      results.messages.filter((m) => m.topic === topics.telemetry('gw-cmd')).flatMap((m) => telemetryBatchSchema.parse(m.json).readings)
        .length;
    const before = count();
    await waitFor(() => count() > before + 3, { what: 'more readings after the bad commands' });
    const last = results.messages
      .filter((m) => m.topic === topics.telemetry('gw-cmd'))
      .at(-1)!
      .json.readings.at(-1);
    expect(Object.keys(last.values)).toEqual(expect.arrayContaining(['lamp1_level', 'lamp2_status', 'power', 'voltage']));
    expect(last.values.lamp3_level).toBeUndefined();
  });

  it('a lamp failure bit raises an edge event (never dropped), and its clearing another', async () => {
    const events = () => results.messages.filter((m) => m.topic === topics.event('gw-cmd')).map((m) => gatewayEventSchema.parse(m.json));
    light.injectFault({ type: 'lamp_failure', lamp: 2 });
    const raised = await waitFor(() => events().find((e) => e.type === 'lamp_failure'), { what: 'a lamp_failure event' });
    expect(raised).toMatchObject({ gateway: 'gw-cmd', device: 'light-1', detail: { field: 'lamp2_status', bit: 1 } });
    light.clearFaults();
    await waitFor(() => events().find((e) => e.type === 'lamp_failure_cleared'), { what: 'the failure clearing' });
    expect(events().filter((e) => e.type === 'lamp_failure')).toHaveLength(1);
  });
});
