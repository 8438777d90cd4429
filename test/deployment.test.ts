import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { expandEnv, generateFleetKeys, loadConfigFile } from '@tamky/service-kit';
import { brokerConfigSchema, hashSecret } from '@tamky/broker';
import { ingestConfigSchema } from '@tamky/ingest';
import { dashboardConfigSchema } from '@tamky/dashboard-server';
import { loadNotifyPolicy } from '@tamky/dashboard-server/notify';
import { storeConfigSchema } from '@tamky/store';
import { SERVICES } from '../deploy/scripts/build';

/**
 * No Docker engine runs here, so the deployment files are checked by reading them: every path,
 * config file, env variable and dependency they name must exist, and the entrypoint's refusal to
 * start without secrets is run for real.
 */
const root = join(import.meta.dirname, '..');
// Compose applies YAML merge keys (<<: *service); the yaml package does so only when asked.
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Record<string, any>>;
  networks: Record<string, any>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const ownServices = Object.entries(compose.services).filter(([, s]) => s.build);
const dockerCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];

/** Names in deploy/env/<service>.env.example, the template of the one env file compose gives that service. */
const envExample = (service: string) => readFileSync(join(root, `deploy/env/${service}.env.example`), 'utf8');
const envNamesOf = (service: string) => new Set([...envExample(service).matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
/**
 * `${NAME}` references without a default in a config file (what the service must be given). `${NAME:-default}`
 * are ports, hosts and folders whose default is the compose layout.
 */
const referencedIn = (...files: string[]) =>
  new Set(files.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!)));
/** A deploy config as compose runs it: every `${NAME:-default}` at its default (secrets left as references). */
const asComposed = (file: string) =>
  expandEnv(parse(readFileSync(join(root, file), 'utf8').replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, '$$[$1]')), file, {}) as any;
const required = (service: string) =>
  String(compose.services[service]!.environment?.REQUIRED_SECRETS ?? '')
    .split(/\s+/)
    .filter(Boolean);
/** Values in the env templates that are not secrets (a URL, a host name). */
const NOT_SECRET = new Set(['PUBLIC_URL', 'PUBLIC_HOST']);
/** The config files each of our services reads, and where its secrets land. */
const CONFIGS: Record<string, string[]> = {
  broker: ['deploy/config/broker.yaml'],
  ingest: ['deploy/config/ingest.yaml'],
  dashboard: ['deploy/config/dashboard.yaml', 'deploy/config/notify-policy.yaml'],
};

describe('docker-compose.yml', () => {
  it('runs the production shape: InfluxDB 1.x (the tested store), Redis, broker, ingest, dashboard behind a proxy', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['influxdb', 'redis', 'broker', 'ingest', 'dashboard', 'proxy']));
    // 1.x OSS: the /write and InfluxQL /query of the Debian 1.6.7 that store/test and test/deploy-influxdb.test.ts run against.
    expect(compose.services.influxdb!.image).toMatch(/^influxdb:1\.\d+\.\d+$/);
    const options = readFileSync(join(root, 'deploy/influxdb-2.compose.yml'), 'utf8');
    expect(options).toMatch(/^# OPTION, NOT THE TESTED DEFAULT/m);
  });

  it('starts ingest with the young-generation size its throughput was measured with', () => {
    expect(compose.services.ingest!.environment.NODE_OPTIONS).toContain('--max-semi-space-size=32');
  });

  it('builds our services from a Dockerfile that exists', () => {
    expect(ownServices.length).toBeGreaterThanOrEqual(3);
    for (const [name, service] of ownServices) {
      const context = join(root, service.build.context);
      expect(existsSync(join(context, service.build.dockerfile)), `${name}: dockerfile`).toBe(true);
    }
  });

  it('starts each service as compiled JavaScript the build makes, with config files that exist in the repo', () => {
    // `npm run build` (in the Dockerfile) compiles <workspace>/<src entry>.ts to <workspace>/dist/<name>.js.
    const built = SERVICES.flatMap((s) => s.entries.map((e) => join(s.workspace, 'dist', `${basename(e, '.ts')}.js`)));
    for (const [name, service] of [...ownServices, ['image default', { command: [...dockerCmd] }] as const]) {
      const [entry, ...args] = service.command as string[];
      expect(built, `${name}: ${entry}`).toContain(entry);
      expect(existsSync(join(root, entry!.replace('/dist/', '/src/').replace(/\.js$/, '.ts'))), `${name}: source of ${entry}`).toBe(true);
      for (const arg of args.filter((a) => a.startsWith('/app/') && /\.(ya?ml|json)$/.test(a) && !a.includes('/simulation/'))) {
        expect(existsSync(join(root, arg.slice('/app/'.length))), `${name}: ${arg}`).toBe(true);
      }
    }
  });

  it('has health checks and restart policies on every long-running service, and depends only on defined, healthy services', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.profiles) continue;
      expect(service.healthcheck, `${name}: healthcheck`).toBeDefined();
      expect(service.restart, `${name}: restart`).toMatch(/always|unless-stopped/);
      for (const [dep, cond] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect((cond as { condition: string }).condition).toBe('service_healthy');
      }
    }
  });

  it('keeps data in named volumes that are declared, and mounts repo files that exist or that the deploy scripts write', () => {
    const generated = /^\.\/deploy\/(credentials|certs|simulation)\//;
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) {
          if (!generated.test(source)) expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true);
          continue;
        }
        expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it('publishes only TLS: MQTT on 8883 and the proxy (HTTPS, WSS); plain MQTT, WebSocket, Redis, InfluxDB and the dashboard stay internal', () => {
    const published = Object.fromEntries(
      Object.entries(compose.services).map(([name, s]) => [name, ((s.ports ?? []) as string[]).map(String)]),
    );
    expect(published).toEqual({
      influxdb: [],
      redis: [],
      broker: ['8883:8883'],
      ingest: [],
      dashboard: [],
      proxy: ['443:443', '80:80'],
      'simulated-gateways': [],
    });
    const broker = asComposed('deploy/config/broker.yaml');
    expect(broker.listeners.tls.port).toBe('8883');
    // What the proxy forwards to exists: the broker's WebSocket listener and the dashboard's port.
    const caddy = readFileSync(join(root, 'deploy/proxy/Caddyfile'), 'utf8');
    expect(caddy).toContain(`reverse_proxy broker:${broker.listeners.ws.port}`);
    expect(caddy).toMatch(/handle \/mqtt\*/);
    expect(caddy).toContain('reverse_proxy dashboard:8080');
  });

  it("trusts forwarded addresses from the proxy's fixed address only", () => {
    const address = compose.services.proxy!.networks.city.ipv4_address as string;
    const subnet = compose.networks.city.ipam.config[0].subnet as string;
    expect(address.split('.').slice(0, 3).join('.')).toBe(subnet.split('.').slice(0, 3).join('.'));
    const dashboard = parse(readFileSync(join(root, 'deploy/config/dashboard.yaml'), 'utf8'));
    expect(dashboard.http.trustedProxies).toEqual([address]);
    expect(dashboard.http.trustProxy).toBeUndefined();
  });

  it('gives each service its own env file, holding only what that service reads', () => {
    expect(composeText, 'no ${…} interpolation: compose would read it from one shared .env').not.toMatch(/(?<!\$)\$\{/);
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'simulated-gateways') continue;
      expect(service.env_file, name).toEqual([`deploy/env/${name}.env`]);
      expect(existsSync(join(root, `deploy/env/${name}.env.example`)), name).toBe(true);
    }
    for (const [name, files] of Object.entries(CONFIGS)) {
      // Exactly what its config files reference: nothing another service needs.
      expect([...envNamesOf(name)].sort(), name).toEqual([...referencedIn(...files)].sort());
      for (const secret of required(name)) expect(envNamesOf(name).has(secret), `${name}: ${secret}`).toBe(true);
    }
    expect([...envNamesOf('redis')]).toEqual(['REDIS_PASSWORD']);
    expect([...envNamesOf('proxy')]).toEqual(['PUBLIC_HOST']);
    for (const n of envNamesOf('influxdb')) expect(n).toMatch(/^INFLUXDB_/);
    // The dashboard faces the internet: it holds no Redis, ingest or InfluxDB admin secret.
    for (const n of ['REDIS_PASSWORD', 'INGEST_MQTT_PASSWORD', 'INFLUXDB_INGEST_PASSWORD', 'INFLUXDB_ADMIN_PASSWORD'])
      expect(envNamesOf('dashboard').has(n), n).toBe(false);
  });

  it('runs Redis with a password, and the broker uses it', () => {
    const redis = compose.services.redis!;
    expect((redis.command as string[]).join(' ')).toMatch(/requirepass \$\$REDIS_PASSWORD/);
    expect(JSON.stringify(redis.healthcheck.test)).toContain('REDISCLI_AUTH');
    const broker = asComposed('deploy/config/broker.yaml');
    expect(broker.persistence.url).toBe('redis://:$[REDIS_PASSWORD]@redis:6379/0');
    expect(required('broker')).toContain('REDIS_PASSWORD');
  });

  it('gives ingest and the dashboard their own InfluxDB users: ALL on the database for ingest, READ for the dashboard', () => {
    const env = compose.services.influxdb!.environment;
    expect(env.INFLUXDB_HTTP_AUTH_ENABLED).toBe('true');
    const ingest = parse(readFileSync(join(root, 'deploy/config/ingest.yaml'), 'utf8')).store;
    const dashboard = parse(readFileSync(join(root, 'deploy/config/dashboard.yaml'), 'utf8')).store;
    expect(ingest).toMatchObject({
      type: 'influxdb',
      api: 'v1',
      database: env.INFLUXDB_DB,
      username: env.INFLUXDB_USER,
      createDatabase: false,
    });
    expect(dashboard).toMatchObject({
      type: 'influxdb',
      api: 'v1',
      database: env.INFLUXDB_DB,
      username: env.INFLUXDB_READ_USER,
      createDatabase: false,
    });
    expect(env.INFLUXDB_USER).not.toBe(env.INFLUXDB_READ_USER);
    expect([...envNamesOf('influxdb')].sort()).toEqual([
      'INFLUXDB_ADMIN_PASSWORD',
      'INFLUXDB_READ_USER_PASSWORD',
      'INFLUXDB_USER_PASSWORD',
    ]);
  });

  it('mounts no plain gateway secret and no CA key into a service: the broker reads hashes', () => {
    const mounts = (name: string) => ((compose.services[name]!.volumes ?? []) as string[]).map((v) => v.split(':')[0]!);
    for (const name of ['broker', 'ingest', 'dashboard', 'proxy']) {
      for (const source of mounts(name)) {
        expect(source, name).not.toMatch(/gateways\.json|simulation|ca\.key|\.env$/);
        expect(source, `${name}: a whole secrets folder`).not.toMatch(/^\.\/deploy\/(credentials|certs)\/?$/);
      }
    }
    expect(mounts('broker')).toContain('./deploy/credentials/broker-credentials.yaml');
  });
});

describe('no default secret anywhere in deploy/ and docker-compose.yml', () => {
  const SECRETISH = /pass(word)?|secret|token|api_?key|hash|auth/i;
  const PLACEHOLDER = /\b(changeme|change-me|change_me|not-configured|placeholder|secret123|admin123|password123|example-secret)\b/i;
  const files = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
    );
  const texts = [...files('deploy'), 'docker-compose.yml']
    .filter((f) => !/\.(ts|md)$/.test(f))
    .map((f) => [f, readFileSync(join(root, f), 'utf8')] as const);

  it('has no ${NAME:-default} for a secret and no placeholder value', () => {
    expect(texts.length).toBeGreaterThan(8);
    for (const [file, text] of texts) {
      for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*):?-/g))
        if (m[1] !== 'REQUIRED_SECRETS') expect(SECRETISH.test(m[1]!), `${file}: default for ${m[1]}`).toBe(false);
      // The entrypoint names placeholders to refuse them.
      if (file !== 'deploy/docker-entrypoint.sh') expect(text.match(PLACEHOLDER)?.[0], `${file}: placeholder`).toBeUndefined();
    }
  });

  it('leaves every secret in the env templates empty', () => {
    for (const [file, text] of texts.filter(([f]) => f.endsWith('.env.example'))) {
      for (const [, name, value] of text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm))
        if (!NOT_SECRET.has(name!)) expect(value, `${file}: ${name}`).toBe('');
    }
  });

  it('gives every secret-looking config value from the environment, never literally', () => {
    const walk = (file: string, v: unknown, path: string) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(file, x, `${path}[${i}]`));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(file, x, path ? `${path}.${k}` : k);
      // A key naming an address (tokenUrl) is not a secret.
      else if (typeof v === 'string' && SECRETISH.test(path.split('.').at(-1)!) && !/Url$/.test(path) && !v.startsWith('/'))
        expect(v, `${file}: ${path}`).toMatch(/^\$\{[A-Z_][A-Z0-9_]*\}$/);
    };
    for (const [file, text] of texts.filter(([f]) => /\.ya?ml$/.test(f) && f !== 'docker-compose.yml')) walk(file, parse(text), '');
    // Compose: secrets only through env files; an inline environment value that looks like a secret is refused.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [k, v] of Object.entries((service.environment ?? {}) as Record<string, string>)) {
        if (SECRETISH.test(k) && k !== 'REQUIRED_SECRETS' && k !== 'INFLUXDB_HTTP_AUTH_ENABLED') expect.fail(`${name}: ${k}=${v} inline`);
      }
    }
  });

  it('commits no private key anywhere: every key (fleet signing, CA, TLS) is generated by the deploy scripts', () => {
    const PRIVATE_KEY = 'BEGIN [A-Z ]*PRIVATE KEY-----';
    const found = spawnSync('git', ['grep', '-l', '-E', PRIVATE_KEY], { cwd: root, encoding: 'utf8' });
    expect([0, 1], `git grep failed: ${found.stderr}`).toContain(found.status);
    expect(found.stdout.split('\n').filter(Boolean)).toEqual([]);
    // The check finds a key where there is one.
    expect(new RegExp(PRIVATE_KEY).test(generateFleetKeys().privateKeyPem)).toBe(true);
  });

  it('is caught: the check fails on a default or placeholder secret', () => {
    expect(SECRETISH.test('INFLUXDB_ADMIN_PASSWORD') && /\$\{([A-Z_][A-Z0-9_]*):?-/.test('${INFLUXDB_ADMIN_PASSWORD:-admin}')).toBe(true);
    expect(PLACEHOLDER.test('secretKey: not-configured')).toBe(true);
  });
});

describe('deploy/config', () => {
  /** Runs `check` with every variable of the service's env template set, as compose would from its env file. */
  async function withSecrets(service: string, check: () => void) {
    const saved = { ...process.env };
    const hash = await hashSecret('a-long-random-secret-value');
    for (const name of envNamesOf(service))
      process.env[name] = name.endsWith('_HASH')
        ? hash
        : name === 'PUBLIC_URL'
          ? 'https://ioc.example.vn'
          : name === 'NOTIFY_DUTY_PHONE'
            ? '0905000201'
            : 'a-long-random-secret-value';
    try {
      check();
    } finally {
      process.env = saved;
    }
  }
  const inRepo = (p: string) => join(root, p.replace(/^\/app\//, ''));

  it('gives the broker a valid production config: no anonymous clients, sessions in Redis with its password', async () => {
    await withSecrets('broker', () => {
      const config = brokerConfigSchema.parse(loadConfigFile(join(root, 'deploy/config/broker.yaml'), brokerConfigSchema));
      expect(config.profile).toBe('production');
      expect(config.persistence).toEqual({ type: 'redis', url: 'redis://:a-long-random-secret-value@redis:6379/0' });
    });
  });

  it('gives ingest a valid config storing into InfluxDB 1.x as its own user, with the city and limits it names present', async () => {
    await withSecrets('ingest', () => {
      const config = loadConfigFile(join(root, 'deploy/config/ingest.yaml'), ingestConfigSchema);
      const store = storeConfigSchema.parse(config.store);
      expect(store).toMatchObject({ type: 'influxdb', api: 'v1', username: 'ingest', password: 'a-long-random-secret-value' });
      expect(existsSync(inRepo(config.city!))).toBe(true);
      expect(existsSync(join(inRepo(config.limitsDir), 'vn-aqi.yaml'))).toBe(true);
    });
  });

  it('gives the dashboard a valid config whose files exist, with secure cookies and no plain-text secrets', async () => {
    await withSecrets('dashboard', () => {
      const config = loadConfigFile(join(root, 'deploy/config/dashboard.yaml'), dashboardConfigSchema);
      expect(storeConfigSchema.parse(config.store)).toMatchObject({ type: 'influxdb', username: 'dashboard' });
      expect(config.session.secureCookies).toBe(true);
      expect(existsSync(inRepo(config.city!))).toBe(true);
      expect(existsSync(inRepo(config.alarms!.rulesFile!))).toBe(true);
      expect(config.users[0]!.passwordHash).toMatch(/^scrypt\$/);
      // Gateway configurations and releases are signed with the key init-secrets.ts generates, mounted alone.
      expect(config.fleet?.signingKeyFile).toBe('/app/deploy/credentials/fleet-signing.key');
      expect(compose.services.dashboard!.volumes).toContain(
        './deploy/credentials/fleet-signing.key:/app/deploy/credentials/fleet-signing.key:ro',
      );
    });
    const text = readFileSync(join(root, 'deploy/config/dashboard.yaml'), 'utf8');
    expect(text).not.toMatch(/password: (?!\$\{)/);
  });

  it('gives the dashboard a notification policy that tells someone of every critical or major alarm, by Zalo and SMS, with keys from the environment', async () => {
    await withSecrets('dashboard', () => {
      const config = loadConfigFile(join(root, 'deploy/config/dashboard.yaml'), dashboardConfigSchema);
      const policy = loadNotifyPolicy(inRepo(config.alarms!.notify!));
      expect(Object.keys(policy.providers).sort()).toEqual(['esms', 'zalo']);
      expect(policy.providers.zalo!.secretKey).toBe('a-long-random-secret-value');
      expect(policy.providers.esms!.apiKey).toBe('a-long-random-secret-value');
      expect(policy.callbackToken).toBe('a-long-random-secret-value');
      const everything = policy.routes.filter((r) => !r.match.categories?.length && !r.match.wards?.length);
      expect(everything.flatMap((r) => r.match.severities ?? [])).toEqual(expect.arrayContaining(['critical', 'major']));
      expect(policy.recipients[0]).toMatchObject({ phone: '0905000201', channels: ['zalo', 'sms'] });
    });
    // Without a provider key the dashboard does not start (the policy does not load), rather than tell nobody.
    await withSecrets('dashboard', () => {
      delete process.env.ESMS_API_KEY;
      expect(() => loadNotifyPolicy(join(root, 'deploy/config/notify-policy.yaml'))).toThrow(/ESMS_API_KEY is not set/);
    });
  });
});

describe('Dockerfile', () => {
  it('copies the package.json of every npm workspace before npm ci', () => {
    const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces as string[];
    for (const ws of workspaces) expect(dockerfile, ws).toContain(`COPY ${ws}/package.json ${ws}/`);
  });

  it('builds the services and keeps production dependencies only: no tsx at run time', () => {
    expect(dockerfile).toMatch(/^RUN npm run build && npm prune --omit=dev/m);
    expect(dockerfile).not.toMatch(/install[^\n]*tsx/);
  });

  it('runs as an unprivileged user through the entrypoint that checks secrets', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]');
  });
});

describe('deploy/docker-entrypoint.sh', () => {
  const run = (env: Record<string, string>) =>
    spawnSync('sh', [join(root, 'deploy/docker-entrypoint.sh'), '--version'], {
      env: { PATH: process.env.PATH!, ...env },
      encoding: 'utf8',
    });

  it('refuses to start while a required secret is unset, a placeholder or short', () => {
    for (const value of ['', 'changeme', 'short']) {
      const result = run({ REQUIRED_SECRETS: 'INGEST_MQTT_PASSWORD', INGEST_MQTT_PASSWORD: value });
      expect(result.status).toBe(78);
      expect(result.stderr).toMatch(/refusing to start: secret INGEST_MQTT_PASSWORD/);
    }
  });

  it('starts the service once the secrets are set, with plain node', () => {
    const result = run({ REQUIRED_SECRETS: 'INGEST_MQTT_PASSWORD', INGEST_MQTT_PASSWORD: 'a-long-random-secret-value' });
    expect(result.stderr).not.toMatch(/refusing/);
    expect(result.stdout.trim()).toBe(process.version);
  });
});
