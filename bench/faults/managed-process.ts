import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { processCpuMs } from '../support/proc-cpu';

/**
 * A service of the run as a real OS process the harness can SIGKILL and start again. Node services are
 * run as `node --import tsx <script>` (one process, so the pid killed is the pid doing the work; `npx tsx`
 * would put a wrapper in between). Output goes to a log file; peak RSS is sampled from /proc across
 * every incarnation.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  private peakKb = 0;
  /** CPU ms of the incarnations that exited, and the last reading of the current one (/proc is gone after exit). */
  private cpuExitedMs = 0;
  private cpuCurrentMs = 0;
  private exitedOn: Promise<void> | undefined;
  starts = 0;
  unexpectedExits: string[] = [];
  private killing = false;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    logFile: string,
    private readonly cwd: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  static node(name: string, script: string, args: string[], logFile: string, cwd: string): ManagedProcess {
    return new ManagedProcess(name, process.execPath, ['--import', 'tsx', script, ...args], logFile, cwd);
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  start(): void {
    if (this.pid) throw new Error(`${this.name} is already running`);
    const child = spawn(this.command, this.args, {
      cwd: this.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    });
    this.child = child;
    this.starts++;
    this.log.write(`\n=== ${new Date().toISOString()} start #${this.starts} pid ${child.pid}\n`);
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.exitedOn = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.log.write(`=== ${new Date().toISOString()} exit code=${code} signal=${signal}\n`);
        if (!this.killing) this.unexpectedExits.push(`${new Date().toISOString()} code=${code} signal=${signal}`);
        this.killing = false;
        this.cpuExitedMs += this.cpuCurrentMs;
        this.cpuCurrentMs = 0;
        resolve();
      }),
    );
  }

  /** kill -9, as a crash or power loss of the process would. */
  async kill9(): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    this.sample();
    this.killing = true;
    process.kill(pid, 'SIGKILL');
    await this.exitedOn;
  }

  /** SIGTERM and wait (graceful), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    this.sample();
    this.killing = true;
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => this.pid && process.kill(this.pid, 'SIGKILL'), timeoutMs);
    await this.exitedOn;
    clearTimeout(timer);
  }

  /**
   * Reads VmHWM (this incarnation's peak RSS, the maximum over all incarnations is kept) and the CPU used so far.
   * Called before every kill and stop, and periodically: an unexpected exit loses the CPU since the last sample.
   */
  sample(): void {
    const pid = this.pid;
    if (!pid) return;
    const kb = peakRssKb(pid);
    if (kb > this.peakKb) this.peakKb = kb;
    try {
      this.cpuCurrentMs = processCpuMs(pid);
    } catch {
      // exited meanwhile: the last sample stands
    }
  }

  /** CPU time (user + system, every thread) over all incarnations, in ms. */
  cpuMs(): number {
    this.sample();
    return this.cpuExitedMs + this.cpuCurrentMs;
  }

  peakRssMb(): number {
    this.sample();
    return Math.round(this.peakKb / 1024);
  }
}

export function peakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
