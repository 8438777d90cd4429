import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { assertValidId, cityModelSchema } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { credentialsSchema, hashSecret } from '@tamky/broker';
import { randomSecret, readCredentials, writeCredentials, writeFileAtomic } from './secrets';

/**
 * Creates (or re-keys) a gateway: adds its hashed secret to the broker's credentials file, prints the
 * secret once and writes a gateway config with the devices the city model assigns to it.
 * Then: `docker compose kill -s HUP broker` so the broker picks the new credentials up.
 *
 * The plain secret goes only to the gateway's own config file and the screen, never where a service reads
 * it: the broker reads hashes. `--simulation` also adds it to deploy/simulation/gateways.json, which only
 * the compose `simulation` profile (simulated gateways, a trial without hardware) mounts.
 *
 *   npx tsx deploy/scripts/provision-gateway.ts --id gw-an-my [--city config/tam-ky/city.yaml]
 *     [--broker mqtts://ioc.tamky.gov.vn:8883] [--dir deploy] [--out gw-an-my.yaml] [--disable | --enable]
 *     [--expires 2027-06-30T00:00:00+07:00] [--simulation] [--cert]
 *
 * Re-keying a disabled gateway keeps it disabled (a stolen gateway must not come back with a new secret by
 * accident); `--enable` enables it, deliberately. After SIGHUP the broker disconnects sessions that used the
 * old secret. `--expires` sets the new secret's expiry (the broker refuses it afterwards).
 *
 * `--cert`: mutual TLS instead of a password. The gateway gets its own certificate (CN = gateway id) from the
 * city CA in <dir>/certs (make-certs.sh), and its config names certificate, key and CA instead of a secret; the
 * broker (tls.requestClientCert) knows it by the certificate. Disabling the gateway refuses its certificate too;
 * re-running with --cert re-issues it (rotation).
 *
 * Every gateway gets the centre's fleet public key (<dir>/credentials/fleet-signing.pub, from init-secrets.ts):
 * its config names it, and the gateway takes only configurations and releases signed with the private half.
 */
const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    city: { type: 'string', default: 'config/tam-ky/city.yaml' },
    broker: { type: 'string', default: 'mqtts://broker.example.vn:8883' },
    dir: { type: 'string', default: 'deploy' },
    out: { type: 'string' },
    disable: { type: 'boolean', default: false },
    enable: { type: 'boolean', default: false },
    expires: { type: 'string' },
    simulation: { type: 'boolean', default: false },
    cert: { type: 'boolean', default: false },
  },
});
if (!values.id) {
  console.error('--id <gateway id> is required');
  process.exit(2);
}
const id = assertValidId(values.id, 'gateway id');
const credentialsFile = join(values.dir!, 'credentials/broker-credentials.yaml');
const credentials = readCredentials(credentialsFile);
const existing = credentials.gateways.find((g) => g.id === id);

if (values.disable) {
  if (!existing) {
    console.error(`no gateway ${id} in ${credentialsFile}`);
    process.exit(1);
  }
  existing.disabled = true;
  writeCredentials(credentialsFile, credentials);
  console.log(`disabled ${id}; send SIGHUP to the broker to disconnect it now`);
  process.exit(0);
}

const city = loadConfigFile(values.city!, cityModelSchema);
const devices = city.devices.filter((d) => d.gateway === id);
if (!city.gateways.some((g) => g.id === id)) console.warn(`warning: ${id} is not in ${values.city}; the config lists no devices`);

// With a certificate the secret is never handed out: its hash only keeps the gateway's entry in the broker's file.
const secret = randomSecret();
const secretHash = await hashSecret(secret);
const secretExpiresAt = values.expires;
if (existing) {
  Object.assign(existing, { secretHash, ...(values.enable ? { disabled: false } : {}) });
  if (secretExpiresAt) existing.secretExpiresAt = secretExpiresAt;
  else delete existing.secretExpiresAt;
} else credentials.gateways.push({ id, secretHash, disabled: false, ...(secretExpiresAt ? { secretExpiresAt } : {}) });
credentialsSchema.parse(credentials); // a bad --expires fails here, before anything is written
const certDir = join(values.dir!, 'certs');
if (values.cert) {
  const issued = spawnSync('bash', [join(import.meta.dirname, 'make-certs.sh'), '--gateways', id], {
    env: { ...process.env, CERT_DIR: certDir },
    encoding: 'utf8',
  });
  if (issued.status !== 0) {
    console.error(`cannot issue a certificate for ${id}: ${issued.stderr.trim()}`);
    process.exit(1);
  }
}
// The public half of the key the dashboard signs pushed configurations and releases with: without it the gateway
// would refuse everything the centre pushes.
const fleetPublicKeyFile = join(values.dir!, 'credentials/fleet-signing.pub');
if (!existsSync(fleetPublicKeyFile)) {
  console.error(`no fleet public key ${fleetPublicKeyFile}: run deploy/scripts/init-secrets.ts --dir ${values.dir} first`);
  process.exit(1);
}
writeCredentials(credentialsFile, credentials);

// For the docker-compose `simulation` profile only: simulated gateways need the plain secrets.
if (values.simulation) {
  const simulatedFile = join(values.dir!, 'simulation/gateways.json');
  const simulated = existsSync(simulatedFile) ? (JSON.parse(readFileSync(simulatedFile, 'utf8')) as Record<string, string>) : {};
  simulated[id] = secret;
  writeFileAtomic(simulatedFile, JSON.stringify(simulated, null, 2));
}

const gatewayConfig = {
  gatewayId: id,
  mqtt: values.cert
    ? {
        url: values.broker,
        username: id,
        clientId: id,
        caFile: '/etc/tamky-gateway/ca.crt',
        certFile: `/etc/tamky-gateway/${id}.crt`,
        keyFile: `/etc/tamky-gateway/${id}.key`,
      }
    : { url: values.broker, username: id, password: secret, clientId: id },
  outbox: { path: `/var/lib/tamky-gateway/${id}.outbox.db` },
  fleet: { publicKeyFile: '/etc/tamky-gateway/fleet-signing.pub' },
  buses: [{ id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0', baudRate: 9600, parity: 'none', stopBits: 1, timeoutMs: 500 }],
  devices: devices.map((d, i) => ({
    id: d.id,
    profile: d.kind,
    bus: 'rs485-1',
    unitId: i + 1,
    pollIntervalMs: d.pollIntervalMs,
    ...(d.kind === 'water_level' && d.mountingHeightM ? { overrides: { level: { offset: d.mountingHeightM } } } : {}),
  })),
};
const out = values.out ?? `${id}.yaml`;
writeFileAtomic(
  out,
  `# Gateway ${id}: copy to /etc/tamky-gateway/gateway.yaml on the gateway (mode 0600).\n# Check bus path, unit ids and wiring against the installation sheet.\n${stringify(gatewayConfig)}`,
);
console.log(`gateway ${id}: ${existing ? 're-keyed' : 'created'}; ${devices.length} devices; config written to ${out}`);
if (existing?.disabled) console.log(`gateway ${id} stays disabled; run again with --enable to let it connect`);
if (values.cert)
  console.log(
    `client certificate: copy ${join(certDir, `${id}.crt`)}, ${join(certDir, `${id}.key`)} and ${join(certDir, 'ca.crt')} to /etc/tamky-gateway/ on the gateway (key mode 0600)`,
  );
else console.log(`MQTT secret (shown once, also in ${out}): ${secret}`);
console.log(`fleet public key: copy ${fleetPublicKeyFile} to /etc/tamky-gateway/fleet-signing.pub on the gateway`);
