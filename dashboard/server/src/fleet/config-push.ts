import type { KeyObject } from 'node:crypto';
import type Database from 'better-sqlite3';
import { signedConfigSchema, topics, type CityModel, type PushedConfig, type SignedConfig } from '@tamky/protocol';
import { pushedConfigHash, signConfig, type Logger } from '@tamky/service-kit';
import { migrate } from '../state-db';

const MIGRATIONS = [
  {
    name: 'fleet-configs-1',
    sql: `CREATE TABLE fleet_configs (
      gateway TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      hash TEXT NOT NULL,
      doc TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
  },
];

/** What the centre configures on a gateway, from the registry: its wired devices and their poll intervals. */
export function pushedConfigOf(city: CityModel, gatewayId: string): PushedConfig {
  return {
    devices: city.devices
      .filter((d) => d.gateway === gatewayId && !d.lorawan) // LoRaWAN devices are not polled: their connector needs nothing
      .map((d) => ({ id: d.id, pollIntervalMs: d.pollIntervalMs }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
}

/**
 * Pushes each gateway its configuration from the registry, signed with the fleet key, retained on its `config`
 * topic. A gateway's version goes up only when what it should run changes (kept in the state DB, so versions
 * stay monotonic across restarts); otherwise the same signed document is published again (a broker that lost
 * its retained messages gets it back).
 */
export function createFleetConfigPush(deps: {
  db: Database.Database;
  key: KeyObject;
  publish(topic: string, payload: unknown, opts: { qos: 1; retain: true }): Promise<void>;
  logger: Logger;
  now(): number;
}) {
  migrate(deps.db, MIGRATIONS);
  const get = deps.db.prepare<[string], { version: number; hash: string; doc: string }>(
    'SELECT version, hash, doc FROM fleet_configs WHERE gateway = ?',
  );
  const put = deps.db.prepare(
    `INSERT INTO fleet_configs (gateway, version, hash, doc, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (gateway) DO UPDATE SET version = excluded.version, hash = excluded.hash, doc = excluded.doc, updated_at = excluded.updated_at`,
  );

  /** The signed document a gateway should run now (a new version when the registry changed what it runs). */
  const documentFor = (city: CityModel, gatewayId: string): SignedConfig => {
    const config = pushedConfigOf(city, gatewayId);
    const hash = pushedConfigHash(config);
    const row = get.get(gatewayId);
    if (row && row.hash === hash) return signedConfigSchema.parse(JSON.parse(row.doc));
    const doc = signConfig({ gateway: gatewayId, version: (row?.version ?? 0) + 1, config, issuedAt: deps.now() }, deps.key);
    put.run(gatewayId, doc.version, doc.hash, JSON.stringify(doc), deps.now());
    deps.logger.info({ gateway: gatewayId, version: doc.version, devices: config.devices.length }, 'gateway configuration version');
    return doc;
  };

  return {
    documentFor,
    /** Publishes every registered gateway's configuration; resolves when all are acknowledged or failed. */
    async pushAll(city: CityModel): Promise<void> {
      const docs = deps.db.transaction(() => city.gateways.map((g) => documentFor(city, g.id)))();
      const results = await Promise.allSettled(docs.map((d) => deps.publish(topics.gatewayConfig(d.gateway), d, { qos: 1, retain: true })));
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed) deps.logger.warn({ failed }, 'could not publish some gateway configurations (published again on reconnect)');
    },
    /** The version each gateway should run (for the technician view beside what it reports). */
    versions(): Map<string, number> {
      const rows = deps.db.prepare<[], { gateway: string; version: number }>('SELECT gateway, version FROM fleet_configs').all();
      return new Map(rows.map((r) => [r.gateway, r.version]));
    },
  };
}
export type FleetConfigPush = ReturnType<typeof createFleetConfigPush>;
