import type { KeyObject } from 'node:crypto';
import { signedConfigSchema, type DeviceHealth, type FleetRollback, type GatewayFleetHealth, type SignedConfig } from '@tamky/protocol';
import { configSignatureProblem, type Logger } from '@tamky/service-kit';
import type { GatewayConfig } from '../config';
import { effectiveConfig } from './effective-config';
import { readFleetState, writeFleetState, type FleetState } from './state';

export interface ConfigPushDeps {
  gatewayId: string;
  stateFile: string;
  /** The centre's fleet public key; without it pushed configurations are refused. */
  publicKey: KeyObject | undefined;
  deadlineMs: number;
  /** The gateway's own configuration file as it stands (re-read by reload_config). */
  fileConfig(): GatewayConfig;
  /** Stops the field side and starts it with this configuration. */
  restartField(config: GatewayConfig): Promise<void>;
  deviceHealth(): DeviceHealth[];
  event(type: string, detail: Record<string, unknown>): void;
  log: Logger;
  now(): number;
}

const answering = (d: DeviceHealth) => d.lastOkTs !== null && (d.lastErrorTs === null || d.lastOkTs >= d.lastErrorTs);

/**
 * Configuration pushed from the centre: verified (schema, gateway, signature, hash, version only upwards),
 * persisted before it is applied, tried, and kept only if its devices answer within the deadline; otherwise the
 * previous configuration returns and the refusal is kept for the health report. A restart during a trial rolls
 * the trial back (the gateway may have crashed because of it). Also keeps set_poll_interval across restarts.
 */
export class ConfigPush {
  private state: FleetState;
  private queue: Promise<void> = Promise.resolve();
  /** The configuration the field side runs now. */
  running!: GatewayConfig;

  constructor(private readonly deps: ConfigPushDeps) {
    this.state = readFleetState(deps.stateFile);
  }

  get publicKey(): KeyObject | undefined {
    return this.deps.publicKey;
  }

  /** The configuration to start with. Rolls back an interrupted trial, and a pushed config that no longer validates. */
  startupConfig(): GatewayConfig {
    const s = this.state;
    if (s.trial && s.current) {
      this.rollBack(s.current, `the gateway restarted before configuration version ${s.current.version} proved healthy`);
    }
    for (;;) {
      const current = this.state.current;
      try {
        this.running = effectiveConfig(this.deps.fileConfig(), current?.config ?? null, this.state.pollIntervals);
        return this.running;
      } catch (err) {
        if (!current) throw err; // the file alone is invalid: a startup error, as without any push
        this.rollBack(current, `configuration version ${current.version} cannot run with this gateway's file: ${(err as Error).message}`);
      }
    }
  }

  /** The configuration after the gateway's file changed (reload_config), keeping the pushed part. */
  withFile(file: GatewayConfig): GatewayConfig {
    return effectiveConfig(file, this.state.current?.config ?? null, this.state.pollIntervals);
  }

  setPollInterval(device: string, intervalMs: number): void {
    this.state = { ...this.state, pollIntervals: { ...this.state.pollIntervals, [device]: intervalMs } };
    this.save();
    this.running = {
      ...this.running,
      devices: this.running.devices.map((d) => (d.id === device ? { ...d, pollIntervalMs: intervalMs } : d)),
    };
  }

  health(): GatewayFleetHealth {
    return {
      configVersion: this.state.current?.version ?? null,
      configHash: this.state.current?.hash ?? null,
      rollback: this.state.lastRollback,
    };
  }

  get lastRollback(): FleetRollback | null {
    return this.state.lastRollback;
  }

  /** A message on the gateway's config topic. Pushes are handled one at a time, in arrival order. */
  onPush(payload: Buffer): Promise<void> {
    return this.exclusive(() => this.handle(payload)).catch((err: Error) =>
      this.deps.log.error({ err: err.message }, 'config push failed'),
    );
  }

  /** Runs `fn` after any push being tried (reload_config restarts the field side too: never in the middle of a trial). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async handle(payload: Buffer): Promise<void> {
    const { log } = this.deps;
    let data: unknown;
    try {
      data = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.refuse('?', 'the pushed configuration is not JSON');
    }
    const parsed = signedConfigSchema.safeParse(data);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return this.refuse('?', `the pushed configuration is malformed: ${why}`);
    }
    const doc = parsed.data;
    const label = String(doc.version);
    if (doc.gateway !== this.deps.gatewayId) return this.refuse(label, `the configuration is for gateway "${doc.gateway}"`);
    if (!this.deps.publicKey) return this.refuse(label, 'this gateway has no fleet public key (fleet.publicKeyFile)');
    const bad = configSignatureProblem(doc, this.deps.publicKey);
    if (bad) return this.refuse(label, bad);
    const current = this.state.current;
    if (current && doc.version <= current.version) {
      if (doc.version < current.version || doc.hash !== current.hash)
        log.warn({ version: doc.version, running: current.version }, 'pushed configuration is not newer than the one running; ignored');
      return; // the retained copy of what runs, delivered again on reconnect
    }
    const refused = this.state.refusedConfig;
    if (refused && refused.version === doc.version && refused.hash === doc.hash) return; // already tried and refused
    let next: GatewayConfig;
    try {
      next = effectiveConfig(this.deps.fileConfig(), doc.config, {});
    } catch (err) {
      return this.refuse(label, `the configuration cannot run on this gateway: ${(err as Error).message}`, doc);
    }
    await this.tryConfig(doc, next);
  }

  private async tryConfig(doc: SignedConfig, next: GatewayConfig): Promise<void> {
    const deps = this.deps;
    const log = deps.log;
    const before = this.running;
    const wasAnswering = new Set(
      deps
        .deviceHealth()
        .filter(answering)
        .map((d) => d.device),
    );
    const knownBefore = new Set(before.devices.filter((d) => d.enabled).map((d) => d.id));
    const pollIntervalsBefore = this.state.pollIntervals;
    // Persisted before it runs: if the gateway dies during the trial, the restart rolls it back.
    this.state = { ...this.state, previous: this.state.current, current: doc, trial: true, pollIntervals: {} };
    this.save();
    log.info({ version: doc.version, hash: doc.hash }, 'trying pushed configuration');
    let failure: string | undefined;
    try {
      await deps.restartField(next);
      this.running = next;
      // A device that was not answering before is not the new configuration's fault; every other one must answer.
      const required = next.devices.filter((d) => d.enabled && (!knownBefore.has(d.id) || wasAnswering.has(d.id))).map((d) => d.id);
      failure = await this.waitAnswering(required);
    } catch (err) {
      failure = `the field side cannot start with it: ${(err as Error).message}`;
    }
    if (!failure) {
      this.state = { ...this.state, trial: false };
      this.save();
      log.info({ version: doc.version }, 'pushed configuration applied');
      deps.event('config_applied', { version: doc.version, hash: doc.hash });
      return;
    }
    this.rollBack(doc, failure, pollIntervalsBefore);
    await deps.restartField(before);
    this.running = before;
  }

  private async waitAnswering(required: string[]): Promise<string | undefined> {
    const deadline = this.deps.now() + this.deps.deadlineMs;
    for (;;) {
      const ok = new Set(
        this.deps
          .deviceHealth()
          .filter((d) => d.lastOkTs !== null)
          .map((d) => d.device),
      );
      const missing = required.filter((id) => !ok.has(id));
      if (missing.length === 0) return undefined;
      if (this.deps.now() >= deadline) return `no answer within ${Math.round(this.deps.deadlineMs / 1000)} s from ${missing.join(', ')}`;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Puts the previous configuration back in place of `doc` and records why. */
  private rollBack(doc: SignedConfig, reason: string, pollIntervals = this.state.pollIntervals): void {
    const back = this.state.previous;
    this.record({
      kind: 'config',
      rejected: String(doc.version),
      running: back ? String(back.version) : 'file',
      reason,
      ts: this.deps.now(),
    });
    this.state = {
      ...this.state,
      current: back,
      previous: null,
      trial: false,
      pollIntervals,
      refusedConfig: { version: doc.version, hash: doc.hash },
    };
    this.save();
  }

  private refuse(version: string, reason: string, doc?: SignedConfig): void {
    const running = this.state.current ? String(this.state.current.version) : 'file';
    this.record({ kind: 'config', rejected: version, running, reason, ts: this.deps.now() });
    // Only a correctly signed config is remembered as refused: a forged one must not block a real version.
    if (doc) this.state = { ...this.state, refusedConfig: { version: doc.version, hash: doc.hash } };
    this.save();
  }

  private record(rollback: FleetRollback): void {
    this.deps.log.warn(rollback, 'pushed configuration refused or rolled back');
    this.deps.event('config_rolled_back', { ...rollback });
    this.state = { ...this.state, lastRollback: rollback };
  }

  private save(): void {
    writeFleetState(this.deps.stateFile, this.state);
  }
}
