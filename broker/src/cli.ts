#!/usr/bin/env tsx
/**
 * tsx broker/src/cli.ts --config broker/config/development.yaml   run the broker
 * tsx broker/src/cli.ts hash-secret                                 read a secret on stdin, print its scrypt hash
 */
import { unwatchFile, watchFile } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile, type Closable } from '@tamky/service-kit';
import { brokerConfigSchema, type ResolvedBrokerConfig } from './config';
import { startBroker } from './broker';
import { hashSecret } from '@tamky/service-kit';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Paths in the config file are relative to the file, so a config works from any working directory. */
function resolvePaths(config: ResolvedBrokerConfig, file: string): ResolvedBrokerConfig {
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const tls = config.listeners.tls;
  return {
    ...config,
    ...(config.credentialsFile ? { credentialsFile: abs(config.credentialsFile) } : {}),
    listeners: {
      ...config.listeners,
      ...(tls ? { tls: { ...tls, cert: abs(tls.cert), key: abs(tls.key), ...(tls.ca ? { ca: abs(tls.ca) } : {}) } } : {}),
    },
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, allowPositionals: true });
  if (positionals[0] === 'hash-secret') {
    if (process.stdin.isTTY) process.stderr.write('secret (then Ctrl-D): ');
    const secret = await readStdin();
    if (!secret) throw new Error('empty secret on stdin');
    process.stdout.write(`${await hashSecret(secret)}\n`);
    return;
  }
  if (!values.config) {
    process.stderr.write('usage: tsx broker/src/cli.ts --config broker.yaml\n       echo -n SECRET | tsx broker/src/cli.ts hash-secret\n');
    process.exit(2);
  }
  const log = createLogger('broker');
  const config = resolvePaths(loadConfigFile(values.config, brokerConfigSchema), values.config);
  const broker = await startBroker(config, { logger: log });
  const closers: Closable[] = [];
  const reload = (why: string) => {
    try {
      broker.reloadCredentials();
    } catch (err) {
      // A bad (or half-written) edit keeps the previous credentials in force.
      log.error(
        { why, err: err instanceof ConfigError ? err.details : String(err) },
        'credentials reload failed; keeping the previous set',
      );
    }
  };
  process.on('SIGHUP', () => {
    reload('SIGHUP');
    try {
      broker.reloadTls();
    } catch (err) {
      log.error({ err: String(err) }, 'TLS certificate reload failed; keeping the previous certificate');
    }
  });
  // Also on change, because `npx tsx` does not pass SIGHUP on to the broker process.
  if (config.credentialsFile) {
    const file = config.credentialsFile;
    watchFile(file, { interval: 2000 }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs) reload('file changed');
    });
    closers.unshift({ close: () => unwatchFile(file) });
  }
  closers.push(broker);
  closeOnSignals(closers, log, config.limits.drainTimeoutMs + 5_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
