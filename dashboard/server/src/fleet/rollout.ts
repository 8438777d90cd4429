import { createHash, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import {
  RELEASE_VERSION_PATTERN,
  topics,
  type CityModel,
  type GatewayHealth,
  type ReleaseAnnouncement,
  type ReleaseArtifact,
  type Rollout,
} from '@tamky/protocol';
import { signRelease, type Logger } from '@tamky/service-kit';
import { migrate } from '../state-db';

const MIGRATIONS = [
  {
    name: 'fleet-rollouts-1',
    sql: `CREATE TABLE fleet_rollouts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      version TEXT NOT NULL,
      first_ward TEXT NOT NULL,
      stage TEXT NOT NULL,
      reason TEXT,
      announcement TEXT NOT NULL,
      announced TEXT NOT NULL DEFAULT '[]',
      created_by TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
  },
  { name: 'fleet-rollouts-2', sql: 'ALTER TABLE fleet_rollouts ADD COLUMN resumed_at INTEGER' },
  // Gateway → the `ts` of its rollback the admin saw when resuming (the gateway's clock: compared, never ordered).
  { name: 'fleet-rollouts-3', sql: "ALTER TABLE fleet_rollouts ADD COLUMN excused TEXT NOT NULL DEFAULT '{}'" },
];

/** `npm run release:gateway` writes `<base>.json` beside `<base>.tgz`; the fields a rollout needs. */
const releaseFileSchema = z.object({
  version: z.string().regex(RELEASE_VERSION_PATTERN),
  tarball: z.string().regex(/^[A-Za-z0-9._-]+\.tgz$/),
});

interface Row {
  id: number;
  version: string;
  first_ward: string;
  stage: Rollout['stage'];
  reason: string | null;
  announcement: string;
  announced: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  resumed_at: number | null;
  excused: string;
}

export class RolloutError extends Error {}
export class RolloutNotFound extends Error {}

/**
 * Staged software rollout: a release from the releases folder is signed (its name, version, size and SHA-256,
 * checked against the file here) and announced, retained, to the gateways of one ward; when every one of them
 * reports the new version in its health, to all the others. A gateway that rolls the version back halts the
 * rollout before it reaches more of the city. One rollout is active at a time; every step is audited.
 *
 * An admin cancels a rollout (running or halted): gateways not yet on the version lose its retained announcement,
 * so none installs it later; those already on it keep it (cancelling is not a downgrade). An admin resumes a
 * halted one once its cause is fixed: it goes on at the stage it halted in, announced again to the gateways not on
 * the version (one that refused to install, e.g. a failed download, tries again; one whose launcher rolled it back
 * never retries that version, and no longer holds the rollout up). The rollbacks the admin saw when resuming do
 * not halt it again; a new one does.
 */
export function createRollouts(deps: {
  db: Database.Database;
  key: KeyObject;
  releasesDir: string | undefined;
  /** Where gateways fetch `<file>`: `${releaseBaseUrl}/api/fleet/releases/<file>`. */
  releaseBaseUrl: string;
  deadlineMs: number;
  city(): CityModel;
  health(gatewayId: string): GatewayHealth | null;
  publish(topic: string, payload: unknown, opts: { qos: 1; retain: true }): Promise<void>;
  audit(user: string, action: string, detail: Record<string, unknown>): void;
  /** A rollout changed stage (open pages refetch the list). */
  changed(id: number, stage: Rollout['stage']): void;
  logger: Logger;
  now(): number;
}) {
  migrate(deps.db, MIGRATIONS);
  const rows = () => deps.db.prepare<[], Row>('SELECT * FROM fleet_rollouts ORDER BY id DESC LIMIT 20').all();
  const active = () =>
    deps.db.prepare<[], Row>("SELECT * FROM fleet_rollouts WHERE stage IN ('first_ward', 'rest') ORDER BY id DESC LIMIT 1").get();
  const update = deps.db.prepare('UPDATE fleet_rollouts SET stage = ?, reason = ?, announced = ?, updated_at = ? WHERE id = ?');
  const byId = (id: number) => deps.db.prepare<[number], Row>('SELECT * FROM fleet_rollouts WHERE id = ?').get(id);

  const releases = (): ReleaseArtifact[] => {
    if (!deps.releasesDir || !existsSync(deps.releasesDir)) return [];
    return readdirSync(deps.releasesDir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => {
        try {
          const m = releaseFileSchema.parse(JSON.parse(readFileSync(join(deps.releasesDir!, f), 'utf8')));
          const file = join(deps.releasesDir!, m.tarball);
          if (!existsSync(file)) return [];
          return [{ name: 'tamky-gateway' as const, version: m.version, file: m.tarball, sha256: '', size: statSync(file).size }];
        } catch {
          return [];
        }
      });
  };

  /** The file's own SHA-256, computed here: what is signed is what is served. */
  const artifactOf = (version: string): ReleaseArtifact => {
    const r = releases().find((x) => x.version === version);
    if (!r) throw new RolloutError(`no release ${version} in the releases folder`);
    return {
      ...r,
      sha256: createHash('sha256')
        .update(readFileSync(join(deps.releasesDir!, r.file)))
        .digest('hex'),
    };
  };

  const announce = (ann: Omit<ReleaseAnnouncement, 'gateway'>, gatewayIds: string[]) => {
    for (const gateway of gatewayIds)
      deps
        .publish(topics.gatewayRelease(gateway), { ...ann, gateway }, { qos: 1, retain: true })
        .catch((err: Error) => deps.logger.warn({ err: err.message, gateway }, 'could not announce the release'));
  };

  /** The gateway's rollback or refusal of this rollout's version, if it reports one. */
  const rollbackOf = (r: Row, gateway: string) => {
    const rb = deps.health(gateway)?.fleet?.rollback;
    return rb?.kind === 'software' && rb.rejected === r.version ? rb : undefined;
  };
  /** A rollback other than the one the admin saw when resuming the rollout (that one does not halt it again). */
  const newRollback = (r: Row, gateway: string) => {
    const rb = rollbackOf(r, gateway);
    return rb && (JSON.parse(r.excused) as Record<string, number>)[gateway] !== rb.ts ? rb : undefined;
  };

  const view = (r: Row): Rollout => {
    const city = deps.city();
    const announced = JSON.parse(r.announced) as string[];
    return {
      id: r.id,
      version: r.version,
      firstWard: r.first_ward,
      stage: r.stage,
      reason: r.reason,
      createdBy: r.created_by,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      resumedAt: r.resumed_at,
      canCancel: r.stage === 'first_ward' || r.stage === 'rest' || r.stage === 'halted',
      canResume: r.stage === 'halted' && !active(),
      gateways: announced.map((id) => {
        const h = deps.health(id);
        return {
          id,
          ward: city.gateways.find((g) => g.id === id)?.ward ?? '',
          version: h?.version ?? null,
          rolledBack: rollbackOf(r, id) !== undefined,
        };
      }),
    };
  };

  /** Moves the active rollout on from what gateways report: halt on a rollback, next stage when a stage is done. */
  const evaluate = () => {
    const r = active();
    if (!r) return;
    const v = view(r);
    const ann = JSON.parse(r.announcement) as Omit<ReleaseAnnouncement, 'gateway'>;
    const back = v.gateways.find((g) => newRollback(r, g.id));
    const at = deps.now();
    if (back) {
      const reason = `gateway ${back.id} rolled ${r.version} back: ${newRollback(r, back.id)!.reason}`;
      update.run('halted', reason, r.announced, at, r.id);
      deps.audit('system', 'fleet.rollout.halt', { rollout: r.id, version: r.version, gateway: back.id, reason });
      deps.logger.warn({ rollout: r.id, reason }, 'rollout halted');
      deps.changed(r.id, 'halted');
      return;
    }
    // A gateway that rolled the version back before the rollout was resumed will not take it: it does not hold it up.
    if (!v.gateways.every((g) => g.version === r.version || g.rolledBack)) return;
    if (r.stage === 'first_ward') {
      const rest = deps
        .city()
        .gateways.filter((g) => g.ward !== r.first_ward)
        .map((g) => g.id);
      const stage = rest.length ? 'rest' : 'done';
      update.run(stage, null, JSON.stringify([...v.gateways.map((g) => g.id), ...rest]), at, r.id);
      deps.audit('system', 'fleet.rollout.advance', { rollout: r.id, version: r.version, gateways: rest.length });
      announce(ann, rest);
      deps.changed(r.id, stage);
      return;
    }
    update.run('done', null, r.announced, at, r.id);
    deps.audit('system', 'fleet.rollout.done', { rollout: r.id, version: r.version });
    deps.changed(r.id, 'done');
  };

  return {
    releases,
    list: (): Rollout[] => rows().map(view),
    start(user: string, version: string, firstWard: string): Rollout {
      if (active()) throw new RolloutError('a rollout is under way: wait for it to finish or halt');
      const first = deps
        .city()
        .gateways.filter((g) => g.ward === firstWard)
        .map((g) => g.id);
      if (!first.length) throw new RolloutError(`ward ${firstWard} has no gateways`);
      const release = artifactOf(version);
      const ann = {
        type: 'gateway_release' as const,
        url: `${deps.releaseBaseUrl.replace(/\/$/, '')}/api/fleet/releases/${release.file}`,
        release,
        signature: signRelease(release, deps.key),
        deadlineMs: deps.deadlineMs,
      };
      const at = deps.now();
      const { lastInsertRowid } = deps.db
        .prepare(
          `INSERT INTO fleet_rollouts (version, first_ward, stage, announcement, announced, created_by, created_at, updated_at)
           VALUES (?, ?, 'first_ward', ?, ?, ?, ?, ?)`,
        )
        .run(version, firstWard, JSON.stringify(ann), JSON.stringify(first), user, at, at);
      deps.audit(user, 'fleet.rollout.start', { rollout: Number(lastInsertRowid), version, firstWard, gateways: first });
      announce(ann, first);
      deps.changed(Number(lastInsertRowid), 'first_ward');
      return view(byId(Number(lastInsertRowid))!);
    },
    /** Stops a running or halted rollout; gateways not on the version lose its announcement. */
    cancel(user: string, id: number, note: string | undefined): Rollout {
      const r = byId(id);
      if (!r) throw new RolloutNotFound(`rollout ${id}`);
      if (!['first_ward', 'rest', 'halted'].includes(r.stage)) throw new RolloutError(`rollout ${id} is ${r.stage}: nothing to cancel`);
      const pending = view(r)
        .gateways.filter((g) => g.version !== r.version)
        .map((g) => g.id);
      const at = deps.now();
      update.run('cancelled', `cancelled by ${user}${note ? `: ${note}` : ''}`, r.announced, at, r.id);
      deps.audit(user, 'fleet.rollout.cancel', {
        rollout: r.id,
        version: r.version,
        from: r.stage,
        withdrawn: pending,
        note: note ?? null,
      });
      // An empty retained message removes the announcement: a gateway offline now does not install it on reconnect.
      for (const gateway of pending)
        deps
          .publish(topics.gatewayRelease(gateway), '', { qos: 1, retain: true })
          .catch((err: Error) => deps.logger.warn({ err: err.message, gateway }, 'could not withdraw the release'));
      deps.changed(r.id, 'cancelled');
      return view(byId(id)!);
    },
    /** Goes on with a halted rollout, its cause fixed: at the stage it halted in, announced again where not taken. */
    resume(user: string, id: number, note: string | undefined): Rollout {
      const r = byId(id);
      if (!r) throw new RolloutNotFound(`rollout ${id}`);
      if (r.stage !== 'halted') throw new RolloutError(`rollout ${id} is ${r.stage}: only a halted rollout resumes`);
      if (active()) throw new RolloutError('another rollout is under way');
      const announced = JSON.parse(r.announced) as string[];
      const firstWard = new Set(
        deps
          .city()
          .gateways.filter((g) => g.ward === r.first_ward)
          .map((g) => g.id),
      );
      const stage = announced.every((g) => firstWard.has(g)) ? 'first_ward' : 'rest';
      const excused = Object.fromEntries(announced.flatMap((g) => (rollbackOf(r, g) ? [[g, rollbackOf(r, g)!.ts]] : [])));
      const at = deps.now();
      deps.db
        .prepare('UPDATE fleet_rollouts SET stage = ?, reason = NULL, resumed_at = ?, excused = ?, updated_at = ? WHERE id = ?')
        .run(stage, at, JSON.stringify(excused), at, r.id);
      const again = view(byId(id)!)
        .gateways.filter((g) => g.version !== r.version)
        .map((g) => g.id);
      deps.audit(user, 'fleet.rollout.resume', {
        rollout: r.id,
        version: r.version,
        stage,
        reannounced: again,
        excused: Object.keys(excused),
        note: note ?? null,
      });
      announce(JSON.parse(r.announcement) as Omit<ReleaseAnnouncement, 'gateway'>, again);
      deps.changed(r.id, stage);
      evaluate(); // every gateway may already be on the version, or the rest of the stage excused
      return view(byId(id)!);
    },
    /** A gateway's health changed. */
    onHealth: evaluate,
    /** The release file to serve, or undefined. */
    releaseFile(file: string): string | undefined {
      if (!deps.releasesDir || !/^[A-Za-z0-9._-]+\.tgz$/.test(file)) return undefined;
      const path = join(deps.releasesDir, file);
      return existsSync(path) ? path : undefined;
    },
  };
}
export type Rollouts = ReturnType<typeof createRollouts>;
