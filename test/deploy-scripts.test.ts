import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { credentialsSchema, verifySecret } from '@tamky/broker';
import { gatewayConfigSchema } from '@tamky/edge';
import { configSignatureProblem, fleetPrivateKey, fleetPublicKey, generateFleetKeys, signConfig } from '@tamky/service-kit';
import { requireBinary, tempDir } from '@tamky/test-support';

/** The scripts a city's IT team runs, run for real in a temp folder. */
const root = join(import.meta.dirname, '..');
/**
 * What one run of a deploy script may take: a fresh Node with tsx, the packages it imports, a production-cost
 * scrypt. A test's budget is its number of runs times this (the default 60 s did not fit two on a machine loaded a dozen times over).
 */
const SCRIPT_RUN_MS = 45_000;
const tsx = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'deploy/scripts', script), ...args], { cwd: root, encoding: 'utf8' });

describe('deploy scripts', () => {
  it(
    "init-secrets writes one env file per service with exactly its template's names, hashes service secrets for the broker, and never overwrites",
    async () => {
      const dir = tempDir('deploy');
      const first = tsx('init-secrets.ts', ['--dir', dir, '--public-url', 'https://ioc.tamky.test']);
      expect(first.status, first.stderr).toBe(0);
      const envOf = (service: string) =>
        Object.fromEntries(
          readFileSync(join(dir, `env/${service}.env`), 'utf8')
            .split('\n')
            .filter((l) => /^[A-Z_]+=/.test(l))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 2, -1)]),
        );
      const env: Record<string, Record<string, string>> = {};
      for (const service of ['influxdb', 'redis', 'broker', 'ingest', 'dashboard', 'proxy']) {
        env[service] = envOf(service);
        const names = [...readFileSync(join(root, `deploy/env/${service}.env.example`), 'utf8').matchAll(/^([A-Z_]+)=/gm)].map(
          (m) => m[1]!,
        );
        expect(Object.keys(env[service]!).sort(), service).toEqual([...names].sort());
        expect(statSync(join(dir, `env/${service}.env`)).mode & 0o077, `${service}.env readable by others`).toBe(0);
      }
      for (const [service, name] of [
        ['ingest', 'INGEST_MQTT_PASSWORD'],
        ['dashboard', 'DASHBOARD_MQTT_PASSWORD'],
        ['redis', 'REDIS_PASSWORD'],
        ['ingest', 'INFLUXDB_INGEST_PASSWORD'],
      ] as const) {
        expect(env[service]![name]!.length, name).toBeGreaterThanOrEqual(16);
      }
      // The pairs that must agree: the broker's Redis password, and each InfluxDB user's password as created.
      expect(env.broker!.REDIS_PASSWORD).toBe(env.redis!.REDIS_PASSWORD);
      expect(env.ingest!.INFLUXDB_INGEST_PASSWORD).toBe(env.influxdb!.INFLUXDB_USER_PASSWORD);
      expect(env.dashboard!.INFLUXDB_DASHBOARD_PASSWORD).toBe(env.influxdb!.INFLUXDB_READ_USER_PASSWORD);
      expect(env.dashboard!.INFLUXDB_DASHBOARD_PASSWORD).not.toBe(env.ingest!.INFLUXDB_INGEST_PASSWORD);
      expect(env.proxy!.PUBLIC_HOST).toBe('ioc.tamky.test');
      // Provider keys are the operator's to fill in: empty, so the dashboard refuses to start until they are.
      expect(env.dashboard!.ESMS_API_KEY).toBe('');
      const admin = first.stdout.match(/admin password \(shown once\): (\S+)/)![1]!;
      expect(await verifySecret(admin, env.dashboard!.DASHBOARD_ADMIN_PASSWORD_HASH!)).toBe(true);

      const creds = credentialsSchema.parse(parse(readFileSync(join(dir, 'credentials/broker-credentials.yaml'), 'utf8')));
      const ingest = creds.services.find((s) => s.username === 'ingest')!;
      expect(await verifySecret(env.ingest!.INGEST_MQTT_PASSWORD!, ingest.secretHash)).toBe(true);
      expect(readFileSync(join(dir, 'credentials/broker-credentials.yaml'), 'utf8')).not.toContain(env.ingest!.INGEST_MQTT_PASSWORD!);

      // The fleet signing key: a fresh ed25519 pair, the private half readable by its owner only; what it signs,
      // the public half (handed to gateways by provision-gateway.ts) verifies.
      const fleetKey = () => readFileSync(join(dir, 'credentials/fleet-signing.key'), 'utf8');
      const fleetPub = () => readFileSync(join(dir, 'credentials/fleet-signing.pub'), 'utf8');
      expect(statSync(join(dir, 'credentials/fleet-signing.key')).mode & 0o077, 'fleet-signing.key readable by others').toBe(0);
      const signed = signConfig({ gateway: 'gw-an-my', version: 1, config: { devices: [] }, issuedAt: 0 }, fleetPrivateKey(fleetKey()));
      expect(configSignatureProblem(signed, fleetPublicKey(fleetPub()))).toBeUndefined();
      expect(configSignatureProblem(signed, fleetPublicKey(generateFleetKeys().publicKeyPem))).toMatch(/does not verify/);
      expect(first.stdout).toMatch(/wrote the fleet signing key/);
      const firstKey = fleetKey();

      const again = tsx('init-secrets.ts', ['--dir', dir]);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/refusing to overwrite/);
      // Rotating the other secrets keeps the fleet key installed gateways trust; replacing it is a deliberate act.
      const forced = tsx('init-secrets.ts', ['--dir', dir, '--force']);
      expect(forced.status, forced.stderr).toBe(0);
      expect(forced.stdout).toMatch(/kept the fleet signing key/);
      expect(fleetKey()).toBe(firstKey);
      const rotated = tsx('init-secrets.ts', ['--dir', dir, '--force', '--rotate-fleet-key']);
      expect(rotated.status, rotated.stderr).toBe(0);
      expect(fleetKey()).not.toBe(firstKey);
      expect(fleetPublicKey(fleetPub()).equals(fleetPublicKey(firstKey))).toBe(false);
      expect(fleetPublicKey(fleetPub()).equals(fleetPublicKey(fleetKey()))).toBe(true);
    },
    4 * SCRIPT_RUN_MS,
  ); // four runs of init-secrets

  it(
    'provision-gateway adds a verifiable credential, writes a valid gateway config for its devices, and can disable it',
    async () => {
      const dir = tempDir('deploy');
      const out = join(dir, 'gw.yaml');
      // A gateway needs the centre's fleet public key: init-secrets.ts comes first.
      const early = tsx('provision-gateway.ts', ['--id', 'gw-an-xuan', '--dir', dir, '--out', out]);
      expect(early.status).toBe(1);
      expect(early.stderr).toMatch(/no fleet public key .*init-secrets\.ts/);
      expect(existsSync(out)).toBe(false);
      const fleet = generateFleetKeys();
      mkdirSync(join(dir, 'credentials'), { recursive: true });
      writeFileSync(join(dir, 'credentials/fleet-signing.pub'), fleet.publicKeyPem);
      const made = tsx('provision-gateway.ts', ['--id', 'gw-an-xuan', '--dir', dir, '--out', out]);
      expect(made.status, made.stderr).toBe(0);
      expect(made.stdout).toContain(`copy ${join(dir, 'credentials/fleet-signing.pub')} to /etc/tamky-gateway/fleet-signing.pub`);
      const secret = made.stdout.match(/MQTT secret \(shown once, also in .*\): (\S+)/)![1]!;
      const config = gatewayConfigSchema.parse(parse(readFileSync(out, 'utf8')));
      expect(config.gatewayId).toBe('gw-an-xuan');
      expect(config.fleet?.publicKeyFile).toBe('/etc/tamky-gateway/fleet-signing.pub');
      expect(config.devices.map((d) => d.id)).toEqual(expect.arrayContaining(['an-xuan-air-1', 'an-xuan-water-1']));
      const creds = () => credentialsSchema.parse(parse(readFileSync(join(dir, 'credentials/broker-credentials.yaml'), 'utf8')));
      expect(await verifySecret(secret, creds().gateways[0]!.secretHash)).toBe(true);
      // The plain secret is nowhere a service reads: not in the folder the broker's file is in, no simulation file.
      for (const f of readdirSync(join(dir, 'credentials')))
        expect(readFileSync(join(dir, 'credentials', f), 'utf8'), f).not.toContain(secret);
      expect(existsSync(join(dir, 'simulation/gateways.json'))).toBe(false);
      // Only for simulated gateways, and only in the file the compose simulation profile alone mounts.
      const simulated = tsx('provision-gateway.ts', ['--id', 'gw-an-phu', '--dir', dir, '--out', join(dir, 'gw2.yaml'), '--simulation']);
      expect(simulated.status, simulated.stderr).toBe(0);
      const simSecret = simulated.stdout.match(/MQTT secret \(shown once, also in .*\): (\S+)/)![1]!;
      expect(JSON.parse(readFileSync(join(dir, 'simulation/gateways.json'), 'utf8'))).toEqual({ 'gw-an-phu': simSecret });
      for (const f of readdirSync(join(dir, 'credentials')))
        expect(readFileSync(join(dir, 'credentials', f), 'utf8'), f).not.toContain(simSecret);

      expect(tsx('provision-gateway.ts', ['--id', 'gw-an-xuan', '--dir', dir, '--disable']).status).toBe(0);
      expect(creds().gateways[0]!.disabled).toBe(true);
      expect(tsx('provision-gateway.ts', ['--id', 'bad/id', '--dir', dir]).status).not.toBe(0);
    },
    6 * SCRIPT_RUN_MS,
  ); // six runs of provision-gateway

  it('make-certs issues a broker certificate and gateway client certificates that verify against the city CA', () => {
    const openssl = requireBinary('openssl', 'openssl');
    const dir = tempDir('certs');
    const made = spawnSync('bash', [join(root, 'deploy/scripts/make-certs.sh'), 'broker.tamky.test', 'gw-an-my'], {
      env: { ...process.env, CERT_DIR: dir },
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    for (const cert of ['broker.crt', 'gw-an-my.crt']) {
      const verify = spawnSync(openssl, ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, cert)], { encoding: 'utf8' });
      expect(verify.stdout.trim()).toBe(`${join(dir, cert)}: OK`);
    }
    const subject = spawnSync(openssl, ['x509', '-in', join(dir, 'gw-an-my.crt'), '-noout', '-subject'], { encoding: 'utf8' }).stdout;
    expect(subject).toMatch(/CN ?= ?gw-an-my/);
  });

  it('backs up a live SQLite state database and restores it', () => {
    const dir = tempDir('backup');
    const dbFile = join(dir, 'state.db');
    const db = new Database(dbFile);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE alarms (id INTEGER PRIMARY KEY, state TEXT)');
    db.prepare('INSERT INTO alarms (state) VALUES (?)').run('active');
    const backup = join(dir, 'backup.db');
    const saved = tsx('backup-state.ts', ['--db', dbFile, '--to', backup]);
    expect(saved.status, saved.stderr).toBe(0);
    db.prepare('UPDATE alarms SET state = ?').run('cleared');
    db.close();

    const restored = tsx('backup-state.ts', ['--restore', '--from', backup, '--db', dbFile]);
    expect(restored.status, restored.stderr).toBe(0);
    const after = new Database(dbFile, { readonly: true });
    expect(after.prepare('SELECT state FROM alarms').get()).toEqual({ state: 'active' });
    after.close();
  });
});
