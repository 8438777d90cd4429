import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '@tamky/service-kit';
import { brokerConfigSchema, hashSecret } from '@tamky/broker';
import { ingestConfigSchema } from '@tamky/ingest';
import { dashboardConfigSchema } from '@tamky/dashboard-server';
import { storeConfigSchema } from '@tamky/store';

/**
 * No Docker engine runs here, so the deployment files are checked by reading them: every path,
 * config file, env variable and dependency they name must exist, and the entrypoint's refusal to
 * start without secrets is run for real.
 */
const root = join(import.meta.dirname, '..');
// Compose applies YAML merge keys (<<: *service); the yaml package does so only when asked.
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Record<string, any>>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const envExample = readFileSync(join(root, 'deploy/.env.example'), 'utf8');
const envNames = new Set([...envExample.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));
const ownServices = Object.entries(compose.services).filter(([, s]) => s.build);

describe('docker-compose.yml', () => {
  it('runs the production shape: InfluxDB 2.x, Redis, broker, ingest, dashboard', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['influxdb', 'redis', 'broker', 'ingest', 'dashboard']));
    expect(compose.services.influxdb!.image).toMatch(/^influxdb:2\./);
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

  it('starts each service with an entry file and config files that exist in the repo', () => {
    for (const [name, service] of ownServices) {
      const [entry, ...args] = service.command as string[];
      expect(existsSync(join(root, entry!)), `${name}: ${entry}`).toBe(true);
      for (const arg of args.filter((a) => a.startsWith('/app/') && /\.(ya?ml|json)$/.test(a) && !a.includes('/credentials/'))) {
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

  it('keeps data in named volumes that are declared', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) continue;
        expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it('publishes valid ports', () => {
    for (const service of Object.values(compose.services)) {
      for (const mapping of (service.ports ?? []) as string[]) {
        const [host, container] = mapping.split(':').map(Number);
        expect(host).toBeGreaterThan(0);
        expect(container).toBeLessThan(65536);
      }
    }
  });

  it('takes secrets only from deploy/.env, every one listed in deploy/.env.example with no value', () => {
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const referenced = new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    for (const service of Object.values(compose.services)) {
      for (const name of String(service.environment?.REQUIRED_SECRETS ?? '').split(/\s+/).filter(Boolean)) referenced.add(name);
    }
    for (const name of referenced) expect(envNames.has(name), `${name} in deploy/.env.example`).toBe(true);
    for (const line of envExample.split('\n').filter((l) => /^[A-Z_]+=/.test(l) && !l.startsWith('PUBLIC_URL'))) {
      expect(line, 'no default secret values').toMatch(/=$/);
    }
  });
});

describe('deploy/config', () => {
  /** Runs `check` with every secret of deploy/.env.example set, as docker compose would from deploy/.env. */
  async function withSecrets(check: () => void) {
    const saved = { ...process.env };
    const hash = await hashSecret('a-long-random-secret-value');
    for (const name of envNames) process.env[name!] = name!.endsWith('_HASH') ? hash : name === 'PUBLIC_URL' ? 'https://ioc.example.vn' : 'a-long-random-secret-value';
    try {
      check();
    } finally {
      process.env = saved;
    }
  }
  const inRepo = (p: string) => join(root, p.replace(/^\/app\//, ''));

  it('gives the broker a valid production config: no anonymous clients, sessions in Redis', async () => {
    await withSecrets(() => {
      const config = brokerConfigSchema.parse(loadConfigFile(join(root, 'deploy/config/broker.yaml'), brokerConfigSchema));
      expect(config.profile).toBe('production');
      expect(config.persistence).toMatchObject({ type: 'redis' });
    });
  });

  it('gives ingest a valid config storing into InfluxDB 2.x, with the city and limits it names present', async () => {
    await withSecrets(() => {
      const config = loadConfigFile(join(root, 'deploy/config/ingest.yaml'), ingestConfigSchema);
      const store = storeConfigSchema.parse(config.store);
      expect(store).toMatchObject({ type: 'influxdb', api: 'v2', token: 'a-long-random-secret-value' });
      expect(existsSync(inRepo(config.city!))).toBe(true);
      expect(existsSync(join(inRepo(config.limitsDir), 'vn-aqi.yaml'))).toBe(true);
    });
  });

  it('gives the dashboard a valid config whose files exist, with secure cookies and no plain-text secrets', async () => {
    await withSecrets(() => {
      const config = loadConfigFile(join(root, 'deploy/config/dashboard.yaml'), dashboardConfigSchema);
      expect(storeConfigSchema.parse(config.store)).toMatchObject({ type: 'influxdb' });
      expect(config.session.secureCookies).toBe(true);
      expect(existsSync(inRepo(config.city!))).toBe(true);
      expect(existsSync(inRepo(config.alarms!.rulesFile!))).toBe(true);
      expect(config.users[0]!.passwordHash).toMatch(/^scrypt\$/);
    });
    const text = readFileSync(join(root, 'deploy/config/dashboard.yaml'), 'utf8');
    expect(text).not.toMatch(/password: (?!\$\{)/);
  });
});

describe('Dockerfile', () => {
  it('copies the package.json of every npm workspace before npm ci', () => {
    const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces as string[];
    for (const ws of workspaces) expect(dockerfile, ws).toContain(`COPY ${ws}/package.json ${ws}/`);
  });

  it('runs as an unprivileged user through the entrypoint that checks secrets', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]');
  });
});

describe('deploy/docker-entrypoint.sh', () => {
  const run = (env: Record<string, string>) =>
    spawnSync('sh', [join(root, 'deploy/docker-entrypoint.sh'), '--version'], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8' });

  it('refuses to start while a required secret is unset, a placeholder or short', () => {
    for (const value of ['', 'changeme', 'short']) {
      const result = run({ REQUIRED_SECRETS: 'INGEST_MQTT_PASSWORD', INGEST_MQTT_PASSWORD: value });
      expect(result.status).toBe(78);
      expect(result.stderr).toMatch(/refusing to start: secret INGEST_MQTT_PASSWORD/);
    }
  });

  it('starts the service once the secrets are set', () => {
    const result = run({ REQUIRED_SECRETS: 'INGEST_MQTT_PASSWORD', INGEST_MQTT_PASSWORD: 'a-long-random-secret-value' });
    expect(result.stderr).not.toMatch(/refusing/);
    expect(result.stdout).toMatch(/node v\d+\./);
  });
});
