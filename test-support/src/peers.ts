import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, spawnPeer, type Peer } from './process';
import { freePort, waitFor, waitForPort } from './wait';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/**
 * A free port can be taken by another test process between asking and binding, and then a readiness
 * probe would find *that* process's server. So a peer counts as started only while its own child is
 * alive and ready; if it died (address in use), it is started again on another port.
 */
export async function startOnFreePort<T extends Peer>(
  what: string,
  start: (port: number) => Promise<{ peer: Peer; ready: () => Promise<T> }>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const { peer, ready } = await start(port);
    try {
      const alive = () => {
        if (peer.child.exitCode !== null || peer.child.signalCode !== null) throw new Error(`${what} exited: ${peer.output().slice(-500)}`);
      };
      const died = new Promise<never>((_, reject) =>
        peer.child.once('exit', () => reject(new Error(`${what} exited: ${peer.output().slice(-500)}`))),
      );
      const result = await Promise.race([ready(), died]);
      alive();
      return result;
    } catch (err) {
      const diedFirst = peer.child.exitCode !== null || peer.child.signalCode !== null;
      await peer.kill();
      // Alive but never ready is no port race: another port would only hide it.
      if (!diedFirst) throw new Error(`${what} did not become ready: ${String(err)}; its output: ${peer.output().slice(-1500)}`);
      lastError = err;
    }
  }
  throw new Error(`could not start ${what}: ${String(lastError)}`);
}

/** Two linked pseudo-terminals from socat: bytes written to one arrive on the other, like a null-modem cable. */
export async function startPtyPair(): Promise<Peer & { a: string; b: string }> {
  const socat = requireBinary('socat', 'socat');
  const dir = tempDir('pty');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const peer = spawnPeer(socat, ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  await waitFor(() => existsSync(a) && existsSync(b), { what: `socat pty pair (${peer.output()})`, timeoutMs: 10_000 });
  // Serial libraries want the device node itself, not the symlink.
  return { ...peer, a: realpathSync(a), b: realpathSync(b) };
}

/** Debian mosquitto on a free loopback port, anonymous access allowed (an independent broker for interop tests). */
export async function startMosquitto(extraConfig = ''): Promise<Peer & { port: number; url: string }> {
  return runMosquitto(tempDir('mosquitto'), `allow_anonymous true\n${extraConfig}`);
}

export const MOSQUITTO_DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/**
 * Debian mosquitto with its dynamic-security plugin, no anonymous access: the only client at start is `admin`
 * (created by `mosquitto_ctrl dynsec init`), who provisions the others over `$CONTROL/dynamic-security/v1`.
 */
export async function startMosquittoDynsec(
  extraConfig = '',
): Promise<Peer & { port: number; url: string; admin: { username: string; password: string } }> {
  requireBinary(MOSQUITTO_DYNSEC_PLUGIN, 'mosquitto');
  const ctrl = requireBinary('mosquitto_ctrl', 'mosquitto');
  const dir = tempDir('mosquitto-dynsec');
  const admin = { username: 'admin', password: randomBytes(12).toString('hex') };
  const dynsecFile = join(dir, 'dynamic-security.json');
  const init = spawnSync(ctrl, ['dynsec', 'init', dynsecFile, admin.username, admin.password]);
  if (init.status !== 0 || !existsSync(dynsecFile)) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr.toString()}`);
  // Started as root, mosquitto drops to its own user, which must read and rewrite the file (as it does on every change).
  if (process.getuid?.() === 0) spawnSync('chown', ['-R', 'mosquitto:', dir]);
  const peer = await runMosquitto(
    dir,
    `allow_anonymous false\nplugin ${MOSQUITTO_DYNSEC_PLUGIN}\nplugin_opt_config_file ${dynsecFile}\n${extraConfig}`,
  );
  return { ...peer, admin };
}

async function runMosquitto(dir: string, config: string): Promise<Peer & { port: number; url: string }> {
  const mosquitto = requireBinary('/usr/sbin/mosquitto', 'mosquitto');
  return startOnFreePort('mosquitto', async (port) => {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 100000\n${config}\n`,
    );
    const peer = spawnPeer(mosquitto, ['-c', conf]);
    return {
      peer,
      ready: async () => {
        // Its own word that it bound the port, not merely someone answering on it.
        await waitFor(() => / running/.test(peer.output()), { what: 'mosquitto to be running', timeoutMs: 20_000 });
        await waitForPort(port, 'mosquitto');
        return { ...peer, port, url: `mqtt://127.0.0.1:${port}` };
      },
    };
  });
}

/**
 * redis-server in a temp dir on a free port. With `password`, it requires that password, given as
 * configuration on stdin (`redis-server -`), as docker-compose.yml starts it; `url` then carries it.
 */
export async function startRedis(opts: { password?: string } = {}): Promise<Peer & { port: number; url: string }> {
  const redis = requireBinary('redis-server', 'redis-server');
  const dir = tempDir('redis');
  return startOnFreePort('redis-server', async (port) => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
    const peer =
      opts.password === undefined ? spawnPeer(redis, args) : spawnPeer(redis, ['-', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (opts.password !== undefined) peer.child.stdin!.end(`requirepass ${opts.password}\n`);
    const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
    return {
      peer,
      ready: async () => {
        await waitFor(() => peer.output().includes('Ready to accept connections'), { what: 'redis-server to be ready', timeoutMs: 20_000 });
        return { ...peer, port, url: `redis://${auth}127.0.0.1:${port}` };
      },
    };
  });
}

/**
 * Debian InfluxDB 1.6.7 (`/write`, InfluxQL `/query`) in a temp dir on a free port. With `auth`, HTTP
 * authentication is on: the first statement must create an admin user, as the 1.x image's first start does.
 */
export async function startInfluxd(
  /** `data`: extra [data] settings, e.g. `{ 'cache-snapshot-write-cold-duration': '"1s"' }` to get TSM files at once (bench/store/sizing.ts). */
  opts: { auth?: boolean; data?: Record<string, string> } = {},
): Promise<Peer & { port: number; url: string; dir: string }> {
  const influxd = requireBinary('influxd', 'influxdb');
  const dir = tempDir('influxd');
  return startOnFreePort('influxd', async (port) => {
    const conf = join(dir, 'influxdb.conf');
    writeFileSync(
      conf,
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${await freePort()}"`,
        '[meta]',
        `  dir = "${dir}/meta"`,
        '[data]',
        `  dir = "${dir}/data"`,
        `  wal-dir = "${dir}/wal"`,
        '  query-log-enabled = false',
        ...Object.entries(opts.data ?? {}).map(([k, v]) => `  ${k} = ${v}`),
        '[http]',
        `  bind-address = "127.0.0.1:${port}"`,
        '  log-enabled = false',
        '  max-body-size = 0',
        `  auth-enabled = ${opts.auth === true}`,
        '[monitor]',
        '  store-enabled = false',
        '[continuous_queries]',
        '  enabled = false',
      ].join('\n'),
    );
    const peer = spawnPeer(influxd, ['run', '-config', conf]);
    const url = `http://127.0.0.1:${port}`;
    return {
      peer,
      ready: async () => {
        await waitFor(async () => (await fetch(`${url}/ping`)).status === 204, {
          what: `influxd to answer /ping (${peer.output().slice(-500)})`,
          timeoutMs: 30_000,
          intervalMs: 200,
        });
        return { ...peer, port, url, dir };
      },
    };
  });
}

/**
 * Debian VictoriaMetrics (line protocol on `/write` and `/api/v2/write`, Prometheus API on `/api/v1/query`), with
 * deduplication at 1 ms so a rewritten sample replaces the old one, as the store requires (store/README.md).
 */
export async function startVictoriaMetrics(): Promise<Peer & { port: number; url: string }> {
  const vm = requireBinary('victoria-metrics', 'victoria-metrics');
  const dir = tempDir('vm');
  return startOnFreePort('victoria-metrics', async (port) => {
    const peer = spawnPeer(vm, [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-search.latencyOffset=0s',
      '-dedup.minScrapeInterval=1ms',
      '-loggerLevel=ERROR',
    ]);
    const url = `http://127.0.0.1:${port}`;
    return {
      peer,
      ready: async () => {
        await waitFor(async () => (await fetch(`${url}/health`)).ok, {
          what: 'victoria-metrics /health',
          timeoutMs: 30_000,
          intervalMs: 200,
        });
        return { ...peer, port, url };
      },
    };
  });
}
