import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  requireBinary,
  startInfluxd,
  startMosquitto,
  startPtyPair,
  startRedis,
  startVictoriaMetrics,
  portAcceptsConnections,
} from '../src/index';

describe('test peers', () => {
  it('names the Debian package when a binary is missing', () => {
    expect(() => requireBinary('no-such-binary-xyz', 'xyz-tools')).toThrow(/apt-get install -y xyz-tools/);
  });

  it('links two ptys so bytes cross like a null-modem cable', async () => {
    const pair = await startPtyPair();
    try {
      const a = openSync(pair.a, 'r+');
      const b = openSync(pair.b, 'r+');
      writeSync(a, Buffer.from([1, 3, 0, 0]));
      const buf = Buffer.alloc(4);
      let got = 0;
      const deadline = Date.now() + 5000;
      while (got < 4 && Date.now() < deadline) got += readSync(b, buf, got, 4 - got, null);
      expect([...buf]).toEqual([1, 3, 0, 0]);
      closeSync(a);
      closeSync(b);
    } finally {
      await pair.stop();
    }
  });

  it('starts mosquitto, redis, influxd and victoria-metrics and stops them', async () => {
    const [mosquitto, redis, influx, vm] = await Promise.all([startMosquitto(), startRedis(), startInfluxd(), startVictoriaMetrics()]);
    expect(await portAcceptsConnections(mosquitto.port)).toBe(true);
    expect(await portAcceptsConnections(redis.port)).toBe(true);
    expect((await fetch(`${influx.url}/ping`)).status).toBe(204);
    expect((await fetch(`${vm.url}/health`)).ok).toBe(true);
    await Promise.all([mosquitto.stop(), redis.stop(), influx.stop(), vm.stop()]);
    expect(await portAcceptsConnections(mosquitto.port)).toBe(false);
  });
});
