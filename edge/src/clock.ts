import { existsSync } from 'node:fs';
import type { ClockMark } from '@tamky/protocol';

/** A change of the gateway's clock against its monotonic clock, found when it is next read. */
export interface ClockStep {
  /** How far the wall clock moved beyond the time that passed (negative: backwards). */
  deltaMs: number;
  /** The clock era after the step (a step backwards starts a new one). */
  era: number;
}

export interface GatewayClockOptions {
  /** The gateway's clock, epoch ms (Date.now, or a fault-injected clock). */
  wall: () => number;
  /** A clock that never steps (performance.now). */
  mono?: () => number;
  /** A change of (wall − mono) larger than this is a step; below it, NTP slewing and scheduling noise. */
  stepMs: number;
  /** Whether the system says the clock is synchronised; absent: it is assumed to be. */
  synced?: () => boolean;
  /** The era and the newest timestamp of the previous run (the outbox keeps them). */
  era: number;
  lastTs: number;
}

/** How many earlier (wall − mono) offsets are kept to place a late-delivered stamp. */
const HISTORY = 8;

/**
 * The gateway's time as readings need it. Each reading is stamped with the wall clock, which NTP can step
 * (a box without a real-time clock boots at a wrong time), so this keeps the offset between the wall clock
 * and a monotonic clock: a change of that offset is a step, of exactly that size. Then:
 *
 * - a stamp taken before the step (delivered after it: a Modbus poll in flight, a UART frame held until its
 *   poll) is placed by the offset it was taken under and moved onto the current clock (`corrected`); the
 *   caller moves the readings still in its outbox by the same amount;
 * - a step backwards starts a new clock era, as does any stamp not later than the same device's previous
 *   one, or a start below the previous run's newest stamp: within one era a device's stamps strictly
 *   increase, which stores keyed by time rely on (protocol readingSchema `era`);
 * - stamps taken while the system says the clock is not synchronised are marked `unsynced`.
 */
export class GatewayClock {
  private readonly mono: () => number;
  private offset: number;
  /** Earlier offsets, newest last, each with the monotonic time it was replaced at. */
  private readonly history: Array<{ offset: number; from: number; until: number }> = [];
  private currentFrom: number;
  private readonly lastByDevice = new Map<string, number>();
  private eraNow: number;
  private newest: number;
  private steps = 0;
  private lastStep: (ClockStep & { at: number }) | undefined;

  constructor(private readonly opts: GatewayClockOptions) {
    this.mono = opts.mono ?? (() => performance.now());
    const m = this.mono();
    const w = opts.wall();
    this.offset = w - m;
    this.currentFrom = m;
    this.eraNow = opts.era;
    this.newest = opts.lastTs;
    // The clock is behind the previous run's newest stamp: a reboot restored an old time (no RTC).
    if (w <= opts.lastTs) this.eraNow++;
  }

  get era(): number {
    return this.eraNow;
  }

  /** The newest timestamp given out (kept with the outbox, so the next run can tell its clock went back). */
  get lastTs(): number {
    return this.newest;
  }

  /** Steps seen since start and the last one (health). */
  state(): { era: number; steps: number; lastStepMs: number | null; lastStepAt: number | null; synced: boolean } {
    return {
      era: this.eraNow,
      steps: this.steps,
      lastStepMs: this.lastStep?.deltaMs ?? null,
      lastStepAt: this.lastStep?.at ?? null,
      synced: this.opts.synced?.() ?? true,
    };
  }

  /** Reads both clocks; a step since the last check is returned once. */
  check(): ClockStep | undefined {
    const m = this.mono();
    const offset = this.opts.wall() - m;
    const deltaMs = Math.round(offset - this.offset);
    if (Math.abs(deltaMs) <= this.opts.stepMs) {
      // Slewing: follow it, so that slow drift never adds up to a step.
      this.offset = offset;
      return undefined;
    }
    this.history.push({ offset: this.offset, from: this.currentFrom, until: m });
    if (this.history.length > HISTORY) this.history.shift();
    this.offset = offset;
    this.currentFrom = m;
    this.steps++;
    if (deltaMs < 0) this.startEra();
    const step = { deltaMs, era: this.eraNow };
    this.lastStep = { ...step, at: Math.round(m + offset) };
    return step;
  }

  /**
   * A device's reading stamped `ts` by the wall clock: where it lies on the current clock, how it is marked
   * and its era. Stamps must be taken through a `check()` (the gateway's `now` does it), so that every offset
   * a stamp can have been taken under is known, with the monotonic interval it held for.
   */
  place(device: string, ts: number): { ts: number; clock?: ClockMark; era: number } {
    let placed = ts;
    let clock: ClockMark | undefined;
    const correction = this.correctionOf(ts);
    if (correction !== 0) {
      placed = ts + correction;
      clock = 'corrected';
    } else if (this.opts.synced && !this.opts.synced()) clock = 'unsynced';
    const previous = this.lastByDevice.get(device);
    if (previous !== undefined && placed <= previous) this.startEra();
    this.lastByDevice.set(device, placed);
    if (placed > this.newest) this.newest = placed;
    return { ts: placed, ...(clock ? { clock } : {}), era: this.eraNow };
  }

  /**
   * After a step, readings moved by the caller (those still in its outbox) enter the record of each
   * device's newest stamp, so the next stamp is checked against them.
   */
  noteMoved(newestByDevice: Iterable<[device: string, ts: number]>): void {
    for (const [device, ts] of newestByDevice) {
      const had = this.lastByDevice.get(device);
      if (had === undefined || ts > had) this.lastByDevice.set(device, ts);
      if (ts > this.newest) this.newest = ts;
    }
  }

  /** 0 when `ts` was taken under the current offset (or cannot be placed); otherwise what moves it onto the current clock. */
  private correctionOf(ts: number): number {
    const slack = this.opts.stepMs;
    const now = this.mono();
    const implied = ts - this.offset;
    if (implied >= this.currentFrom - slack && implied <= now + slack) return 0;
    for (let i = this.history.length - 1; i >= 0; i--) {
      const h = this.history[i]!;
      const at = ts - h.offset;
      if (at >= h.from - slack && at <= h.until + slack) return Math.round(this.offset - h.offset);
    }
    return 0;
  }

  private startEra(): void {
    this.eraNow++;
    this.lastByDevice.clear();
  }
}

/** `synced` for a file the time daemon creates once synchronised (systemd-timesyncd: /run/systemd/timesync/synchronized). */
export function syncedWhileFileExists(path: string, everyMs = 1000): () => boolean {
  let checkedAt = -Infinity;
  let synced = false;
  return () => {
    const now = performance.now();
    if (now - checkedAt >= everyMs) {
      synced = existsSync(path);
      checkedAt = now;
    }
    return synced;
  };
}
