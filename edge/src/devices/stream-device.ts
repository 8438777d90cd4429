import { DeviceStats } from '../bus/device-stats';
import type { FrameValues } from '../drivers/types';
import { applyScale } from '../profile/plan';
import type { Profile } from '../profile/schema';
import type { FieldOverride } from '../profile/plan';
import { CommandError, type FieldDevice, type PollOutcome, type ReadingValues } from './types';

/**
 * A UART sensor that talks on its own (SDS011 once a second): the driver hands every frame here,
 * the poller samples the latest unseen frame at the device's poll interval, so the outbox gets the
 * configured rate rather than the sensor's.
 */
export class StreamDevice implements FieldDevice {
  readonly stats: DeviceStats;
  private latest: { ts: number; values: ReadingValues } | undefined;
  private lastTakenTs = 0;

  constructor(
    readonly id: string,
    readonly busId: string,
    private readonly profile: Profile,
    private readonly overrides: Record<string, FieldOverride>,
    pollIntervalMs: number,
    private readonly now: () => number,
  ) {
    this.stats = new DeviceStats(id, pollIntervalMs);
  }

  onFrame(frame: FrameValues): void {
    const values: ReadingValues = {};
    for (const f of this.profile.stream?.fields ?? []) {
      const raw = frame[f.source];
      if (raw === undefined || (f.noValue !== undefined && raw === f.noValue)) continue;
      const o = this.overrides[f.name] ?? {};
      values[f.name] = { v: applyScale(raw, o.scale ?? f.scale, o.offset ?? f.offset), u: f.unit };
    }
    if (Object.keys(values).length > 0) this.latest = { ts: this.now(), values };
  }

  onBadFrame(kind: 'crc' | 'frame', detail: string): void {
    this.stats.failure(kind, detail, this.now());
  }

  async poll(): Promise<PollOutcome> {
    const l = this.latest;
    if (!l || l.ts <= this.lastTakenTs) {
      return { ok: false, kind: 'timeout', message: 'no new frame from the sensor since the last poll', ts: this.now(), noBackoff: true };
    }
    this.lastTakenTs = l.ts;
    return { ok: true, ts: l.ts, values: l.values };
  }

  async write(): Promise<never> {
    throw new CommandError(`device "${this.id}" is a UART stream sensor: nothing is writable`, 'not_writable');
  }
}
