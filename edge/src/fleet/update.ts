import { execFile } from 'node:child_process';
import { createHash, type KeyObject } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { get } from 'node:https';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { fleetRollbackSchema, releaseAnnouncementSchema, type FleetRollback, type ReleaseAnnouncement } from '@tamky/protocol';
import { releaseSignatureValid, type Logger } from '@tamky/service-kit';
import { writeFileDurably } from './state';

/**
 * Files the gateway and the launcher (deploy/launcher.mjs) share in the install root. The launcher runs
 * `current/dist/cli.js`; while `pending.json` names the version `current` points to, that version is on trial:
 * it must write `healthy.json` with its version before the deadline, or the launcher points `current` back to
 * `previous` and writes `rollback.json`.
 */
export const installFiles = (root: string) => ({
  current: join(root, 'current'),
  pending: join(root, 'pending.json'),
  healthy: join(root, 'healthy.json'),
  rollback: join(root, 'rollback.json'),
  downloads: join(root, 'downloads'),
});
export const releaseFolder = (version: string) => `tamky-gateway-${version}`;
/** The exit code with which the gateway asks the launcher to start `current` again. */
export const RESTART_EXIT_CODE = 75;

export interface UpdaterDeps {
  root: string;
  publicKey: KeyObject | undefined;
  /** CA bundle for the centre's HTTPS (a private CA); the system's otherwise. */
  ca: Buffer | undefined;
  /** The version running. */
  version: string;
  gatewayId: string;
  event(type: string, detail: Record<string, unknown>): void;
  /** Close the gateway and exit with RESTART_EXIT_CODE. */
  requestRestart(): void;
  log: Logger;
  now(): number;
}

const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};

/**
 * Software updates: a signed release announced on the gateway's `release` topic is fetched over HTTPS, checked
 * (signature over the release's name, version, size and SHA-256; then the bytes against that SHA-256), unpacked
 * beside the running version, and started by the launcher through the `current` link. The running version is not
 * touched, so going back is repointing a link.
 */
export class Updater {
  private busy = false;
  private refusal: FleetRollback | null = null;

  constructor(private readonly deps: UpdaterDeps) {}

  /** The newest software rollback or refusal: the launcher's (persisted) or this process's own. */
  lastRollback(): FleetRollback | null {
    const launcher = this.launcherRollback();
    if (!launcher) return this.refusal;
    if (!this.refusal) return launcher;
    return launcher.ts >= this.refusal.ts ? launcher : this.refusal;
  }

  private launcherRollback(): FleetRollback | null {
    const parsed = fleetRollbackSchema.safeParse(readJson(installFiles(this.deps.root).rollback));
    return parsed.success ? parsed.data : null;
  }

  /** Called once the gateway is up and talking to the centre: a version on trial declares itself healthy. */
  confirmHealthy(): void {
    const files = installFiles(this.deps.root);
    const pending = readJson(files.pending) as { version?: string } | undefined;
    if (pending?.version !== this.deps.version) return;
    const healthy = readJson(files.healthy) as { version?: string } | undefined;
    if (healthy?.version === this.deps.version) return;
    writeFileDurably(files.healthy, `${JSON.stringify({ version: this.deps.version, ts: this.deps.now() })}\n`);
    this.deps.log.info({ version: this.deps.version }, 'new version healthy: reported to the launcher');
  }

  onAnnouncement(payload: Buffer): void {
    // The centre withdrew the announcement (a cancelled rollout clears the retained message): nothing to install.
    if (payload.length === 0) return;
    if (this.busy) return; // one install at a time; the retained announcement comes again on reconnect
    this.busy = true;
    this.handle(payload)
      .catch((err: Error) => this.deps.log.error({ err: err.message }, 'release install failed'))
      .finally(() => (this.busy = false));
  }

  private async handle(payload: Buffer): Promise<void> {
    const { log, root } = this.deps;
    let ann: ReleaseAnnouncement;
    try {
      ann = releaseAnnouncementSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch (err) {
      return this.refuse('?', `the release announcement is malformed: ${(err as Error).message.slice(0, 300)}`);
    }
    const { release } = ann;
    if (ann.gateway !== this.deps.gatewayId) return this.refuse(release.version, `the announcement is for gateway "${ann.gateway}"`);
    if (release.version === this.deps.version) return; // running it
    if (!this.deps.publicKey) return this.refuse(release.version, 'this gateway has no fleet public key (fleet.publicKeyFile)');
    if (!releaseSignatureValid(release, ann.signature, this.deps.publicKey))
      return this.refuse(release.version, 'the release signature does not verify with the fleet public key');
    const files = installFiles(root);
    // Tried and rolled back by the launcher: not again (a refusal before installing may be retried: a bad download).
    if (this.launcherRollback()?.rejected === release.version) return;
    if (existsSync(files.pending)) return; // a trial is under way

    log.info({ version: release.version, url: ann.url }, 'installing release');
    mkdirSync(files.downloads, { recursive: true });
    const tarball = join(files.downloads, release.file);
    const sha256 = await this.download(ann.url, `${tarball}.part`, release.size);
    if (sha256 !== release.sha256) {
      rmSync(`${tarball}.part`, { force: true });
      return this.refuse(release.version, `the download's SHA-256 ${sha256} is not the signed ${release.sha256}`);
    }
    renameSync(`${tarball}.part`, tarball);

    const folder = releaseFolder(release.version);
    const staging = mkdtempSync(join(root, '.staging-'));
    try {
      await promisify(execFile)('tar', ['-xzf', tarball, '-C', staging]);
      const manifest = readJson(join(staging, folder, 'manifest.json')) as { version?: string } | undefined;
      if (manifest?.version !== release.version || !existsSync(join(staging, folder, 'dist/cli.js')))
        return this.refuse(release.version, `the tarball does not hold ${folder}/ with its manifest and dist/cli.js`);
      rmSync(join(root, folder), { recursive: true, force: true });
      renameSync(join(staging, folder), join(root, folder));
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    unlinkSync(tarball);

    const previous = basename(readlinkSync(files.current));
    writeFileDurably(
      files.pending,
      `${JSON.stringify({ version: release.version, previous, deadlineMs: ann.deadlineMs, ts: this.deps.now() })}\n`,
    );
    const link = `${files.current}.next`;
    rmSync(link, { force: true });
    symlinkSync(folder, link);
    renameSync(link, files.current); // atomic: `current` is the old or the new version, never missing
    this.deps.event('release_installed', { version: release.version, previous: this.deps.version });
    log.info({ version: release.version, previous }, 'release installed; restarting into it');
    this.deps.requestRestart();
  }

  /** Streams the artifact to `file`, refusing more than `size` bytes; resolves with its SHA-256. */
  private download(url: string, file: string, size: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = get(url, { ...(this.deps.ca ? { ca: this.deps.ca } : {}), timeout: 60_000 }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        }
        const hash = createHash('sha256');
        const out = createWriteStream(file);
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > size) {
            req.destroy(new Error(`GET ${url}: more than the signed ${size} bytes`));
            return;
          }
          hash.update(chunk);
        });
        res.pipe(out);
        out.on('finish', () => resolve(hash.digest('hex')));
        out.on('error', reject);
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
      req.on('error', reject);
    });
  }

  private refuse(version: string, reason: string): void {
    this.refusal = { kind: 'software', rejected: version, running: this.deps.version, reason, ts: this.deps.now() };
    this.deps.log.warn(this.refusal, 'release refused');
    this.deps.event('release_refused', { ...this.refusal });
  }
}
