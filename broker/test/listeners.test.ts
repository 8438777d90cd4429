import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { requireBinary, tempDir, waitFor } from '@tamky/test-support';
import type { BrokerHandle } from '../src/index';
import { connectOk, gatewayOpts, hashForTest, silentLogger, startTestBroker, tryConnect } from './helpers';
import { startBroker } from '../src/index';

/** Runs a real CLI client to completion, collecting stdout. */
function run(command: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('development profile with real clients (mosquitto_pub / mosquitto_sub)', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startTestBroker({
      profile: 'development',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 }, ws: { host: '127.0.0.1', port: 0 } },
      metrics: { host: '127.0.0.1', port: 0 },
    });
  });
  afterAll(() => broker?.close());

  it('accepts anonymous mosquitto_sub on # from loopback (read-only: its mosquitto_pub is refused)', async () => {
    const sub = requireBinary('mosquitto_sub', 'mosquitto-clients');
    const pub = requireBinary('mosquitto_pub', 'mosquitto-clients');
    const port = String(broker.ports.mqtt);
    const listening = run(sub, ['-h', '127.0.0.1', '-p', port, '-t', '#', '-v', '-C', '2', '-W', '10']);
    await waitFor(() => broker.aedes.connectedClients >= 1, { what: 'mosquitto_sub to connect' });
    await new Promise((r) => setTimeout(r, 200)); // its SUBSCRIBE follows CONNECT
    const anon = await run(pub, ['-h', '127.0.0.1', '-p', port, '-t', 'city/v1/gw/gw-a/telemetry', '-m', 'anon-hello', '-q', '0']);
    // QoS 0: mosquitto_pub cannot tell the PUBLISH was refused; the subscriber below proves it never arrived.
    expect(anon.code).toBe(0);
    const gwTelemetry = await run(pub, [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-u',
      'gw-a',
      '-P',
      'secret-a',
      '-i',
      'gw-a',
      '-t',
      'city/v1/gw/gw-a/telemetry',
      '-m',
      'gw-hello',
      '-q',
      '1',
    ]);
    expect(gwTelemetry.code).toBe(0);
    // An authenticated gateway through the real client too.
    const gw = await run(pub, [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-u',
      'gw-a',
      '-P',
      'secret-a',
      '-i',
      'gw-a',
      '-t',
      'city/v1/gw/gw-a/status',
      '-m',
      'online',
      '-q',
      '1',
    ]);
    expect(gw.code).toBe(0);
    const out = await listening;
    expect(out.stdout.trim().split('\n')).toEqual(['city/v1/gw/gw-a/telemetry gw-hello', 'city/v1/gw/gw-a/status online']);
    // Credentials, when given, are still checked in development.
    const bad = await run(pub, ['-h', '127.0.0.1', '-p', port, '-u', 'gw-a', '-P', 'wrong', '-i', 'gw-a', '-t', 'x', '-m', 'x']);
    expect(bad.code).not.toBe(0);
  });

  it('speaks MQTT over WebSocket (subprotocol mqtt) for browser tools', async () => {
    const url = `ws://127.0.0.1:${broker.ports.ws}/mqtt`;
    const dash = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-ws' });
    const got: string[] = [];
    dash.on('message', (t, p) => got.push(`${t} ${p}`));
    await dash.subscribeAsync('city/v1/gw/+/status', { qos: 1 });
    const gw = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    await gw.publishAsync('city/v1/gw/gw-b/status', 'online', { qos: 1 });
    await waitFor(() => got.length === 1, { what: 'status over WebSocket' });
    expect(got).toEqual(['city/v1/gw/gw-b/status online']);
    expect(await tryConnect(url, gatewayOpts('gw-b', 'nope'))).toEqual({ refused: 4 });
    await Promise.all([dash.endAsync(), gw.endAsync()]);
  });

  it('survives garbage over WebSocket and plain HTTP on the WebSocket port', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, 'mqtt');
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const closed = new Promise((r) => ws.once('close', r));
    ws.send(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02])); // impossible remaining length
    await closed;
    const http = await fetch(`http://127.0.0.1:${broker.ports.ws}/`);
    expect(http.status).toBe(426);
    const gw = await connectOk(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, gatewayOpts('gw-a', 'secret-a'));
    await gw.publishAsync('city/v1/gw/gw-a/health', '{}', { qos: 1 });
    await gw.endAsync();
  });

  it('serves Prometheus metrics on /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${broker.ports.metrics}/metrics`)).text();
    for (const name of [
      'broker_clients_connected',
      'broker_messages_in_total',
      'broker_messages_out_total',
      'broker_bytes_in_total',
      'broker_bytes_out_total',
      'broker_refusals_total',
      'broker_subscriber_buffered_bytes',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/broker_refusals_total\{reason="bad-credentials"[^}]*\} [1-9]/);
    expect(text).toMatch(/broker_messages_in_total\{qos="1"[^}]*\} [1-9]/);
    const gw = await connectOk(`mqtt://127.0.0.1:${broker.ports.mqtt}`, gatewayOpts('gw-a', 'secret-a'));
    const scrape = await (await fetch(`http://127.0.0.1:${broker.ports.metrics}/metrics`)).text();
    expect(scrape).toMatch(/broker_clients_connected\{kind="gateway"[^}]*\} 1\b/);
    await gw.endAsync();
  });
});

describe('production profile', () => {
  it('refuses anonymous mosquitto_pub even from loopback', async () => {
    const broker = await startTestBroker({ profile: 'production' });
    const pub = requireBinary('mosquitto_pub', 'mosquitto-clients');
    const r = await run(pub, ['-h', '127.0.0.1', '-p', String(broker.ports.mqtt), '-t', 'city/v1/gw/gw-a/telemetry', '-m', 'x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not authori[sz]ed/i);
    await broker.close();
  });
});

describe('TLS listener', () => {
  const dir = tempDir('broker-tls');
  const openssl = () => requireBinary('openssl', 'openssl');
  const ssl = (args: string[]) => execFileSync(openssl(), args, { cwd: dir, stdio: 'pipe' });
  let broker: BrokerHandle;

  beforeAll(async () => {
    // A CA, a server certificate for 127.0.0.1, and client certificates for gw-a and an unknown gateway.
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-ca']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ]);
    for (const cn of ['gw-a', 'gw-unknown']) {
      ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`]);
      ssl(['x509', '-req', '-in', `${cn}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${cn}.crt`, '-days', '2']);
    }
    broker = await startBroker(
      {
        profile: 'production',
        listeners: {
          mqtt: { host: '127.0.0.1', port: 0 },
          tls: {
            host: '127.0.0.1',
            port: 0,
            cert: join(dir, 'server.crt'),
            key: join(dir, 'server.key'),
            ca: join(dir, 'ca.crt'),
            requestClientCert: true,
          },
        },
        credentials: {
          gateways: [
            { id: 'gw-a', secretHash: await hashForTest('secret-a') },
            { id: 'gw-b', secretHash: await hashForTest('secret-b') },
          ],
          services: [],
        },
      },
      { logger: await silentLogger() },
    );
  });
  afterAll(() => broker?.close());

  const tlsUrl = () => `mqtts://127.0.0.1:${broker.ports.tls}`;
  const read = (f: string) => readFileSync(join(dir, f));

  it('survives plain MQTT and garbage sent to the TLS port', async () => {
    const { connect } = await import('node:net');
    for (const bytes of [
      Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]),
      Buffer.alloc(2048, 0xab),
    ]) {
      const s = connect(broker.ports.tls!, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write(bytes);
      await new Promise((r) => s.once('close', r));
    }
    const gw = await connectOk(tlsUrl(), { ...gatewayOpts('gw-b', 'secret-b'), ca: read('ca.crt') });
    await gw.endAsync();
  });

  it('accepts a gateway with username and secret over TLS, verifying the server certificate', async () => {
    const gw = await connectOk(tlsUrl(), { ...gatewayOpts('gw-b', 'secret-b'), ca: read('ca.crt'), rejectUnauthorized: true });
    await gw.publishAsync('city/v1/gw/gw-b/telemetry', '{}', { qos: 1 });
    await gw.endAsync();
    expect(await tryConnect(tlsUrl(), { ...gatewayOpts('gw-b', 'wrong'), ca: read('ca.crt') })).toEqual({ refused: 4 });
  });

  it('identifies a gateway by its client certificate CN (no secret needed) and refuses a CN that disagrees', async () => {
    const certOpts = (cn: string) => ({ ca: read('ca.crt'), cert: read(`${cn}.crt`), key: read(`${cn}.key`), rejectUnauthorized: true });
    const gw = await connectOk(tlsUrl(), { clientId: 'gw-a', username: 'gw-a', ...certOpts('gw-a') });
    await gw.publishAsync('city/v1/gw/gw-a/telemetry', '{}', { qos: 1 });
    await gw.endAsync();
    // The certificate says gw-a; claiming to be gw-b is refused even with gw-b's secret.
    expect(await tryConnect(tlsUrl(), { ...gatewayOpts('gw-b', 'secret-b'), ...certOpts('gw-a') })).toEqual({ refused: 5 });
    // A CA-signed certificate for a gateway that is not in the credentials.
    expect(await tryConnect(tlsUrl(), { clientId: 'gw-unknown', ...certOpts('gw-unknown') })).toEqual({ refused: 5 });
  });
});

describe('TLS certificate rotation', () => {
  it('serves a renewed certificate to new connections after reloadTls, and keeps the old one if the new files are bad', async () => {
    const dir = tempDir('broker-tls-rotate');
    const ssl = (args: string[]) => execFileSync(requireBinary('openssl', 'openssl'), args, { cwd: dir, stdio: 'pipe' });
    const issue = (name: string) =>
      ssl([
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]);
    issue('first');
    issue('second');
    const install = (name: string) => {
      writeFileSync(join(dir, 'server.crt'), readFileSync(join(dir, `${name}.crt`)));
      writeFileSync(join(dir, 'server.key'), readFileSync(join(dir, `${name}.key`)));
    };
    install('first');
    const broker = await startTestBroker({
      listeners: {
        mqtt: { host: '127.0.0.1', port: 0 },
        tls: { host: '127.0.0.1', port: 0, cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), requestClientCert: false },
      },
    });
    const fingerprint = async (ca: string) => {
      const gw = await connectOk(`mqtts://127.0.0.1:${broker.ports.tls}`, {
        ...gatewayOpts('gw-a', 'secret-a'),
        ca: readFileSync(join(dir, ca)),
        rejectUnauthorized: true,
      });
      const fp = (gw.stream as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      await gw.endAsync();
      return fp;
    };
    const first = await fingerprint('first.crt');

    // A mismatched pair (new certificate, old key) is refused and the old certificate stays in service.
    writeFileSync(join(dir, 'server.crt'), readFileSync(join(dir, 'second.crt')));
    expect(() => broker.reloadTls()).toThrow();
    expect(await fingerprint('first.crt')).toBe(first);

    install('second');
    broker.reloadTls();
    const second = await fingerprint('second.crt');
    expect(second).not.toBe(first);
    await broker.close();
  });
});
