#!/usr/bin/env tsx
/**
 * `npx tsx dashboard/server/src/cli.ts --config dashboard.yaml` runs the dashboard server.
 * `npx tsx dashboard/server/src/cli.ts hash-password` reads a password (or kiosk token) on stdin and prints its hash.
 */
import { parseArgs } from 'node:util';
import { cityModelSchema, ConfigError } from '@tamky/protocol';
import { openStore, storeConfigSchema } from '@tamky/store';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { dashboardConfigSchema } from './config';
import { hashPassword } from './passwords';
import { startDashboard } from './server';
import type { DashboardModule } from './module';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, allowPositionals: true });
  if (positionals[0] === 'hash-password') {
    const secret = await readStdin();
    if (!secret)
      throw new Error('give the password on stdin, e.g.: printf %s "$PASSWORD" | npx tsx dashboard/server/src/cli.ts hash-password');
    process.stdout.write(`${await hashPassword(secret)}\n`);
    return;
  }
  if (!values.config) throw new Error('usage: cli.ts --config dashboard.yaml | cli.ts hash-password');
  const log = createLogger('dashboard');
  const config = loadConfigFile(
    values.config,
    dashboardConfigSchema.extend({ store: storeConfigSchema, city: dashboardConfigSchema.shape.city.unwrap() }),
  );
  const city = loadConfigFile(config.city, cityModelSchema);
  const store = await openStore(config.store, { logger: log.child({ component: 'store' }), readonly: true });
  const modules: DashboardModule[] = [];
  if (config.alarms) {
    // Loaded only when configured, so the server runs (API, live feed, commands) without the alarms module.
    const { createAlarmsModule } = (await import('./alarms/index')) as { createAlarmsModule(c: unknown): DashboardModule };
    modules.push(createAlarmsModule(config.alarms));
  }
  const dashboard = await startDashboard(config, { store, city, logger: log, modules });
  closeOnSignals([dashboard, store], log);
}

main().catch((err) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.details}\n`);
  else process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
