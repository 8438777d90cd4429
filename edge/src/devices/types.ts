import type { CommandErrorCode, Unit } from '@tamky/protocol';
import type { DeviceStats, FailureKind } from '../bus/device-stats';

export type ReadingValues = Record<string, { v: number; u: Unit }>;

export interface DeviceEvent {
  type: string;
  detail: Record<string, unknown>;
}

export type PollOutcome =
  | { ok: true; ts: number; values: ReadingValues; events?: DeviceEvent[] }
  | {
      ok: false;
      kind: FailureKind;
      message: string;
      ts: number;
      /** the device talks on its own: asking less often gains nothing */ noBackoff?: boolean;
    };

/** A device as the poller sees it, whatever driver is behind it. */
export interface FieldDevice {
  readonly id: string;
  readonly busId: string;
  readonly stats: DeviceStats;
  /** Reads the device once; `urgent` jumps the bus queue (read_now). */
  poll(urgent: boolean): Promise<PollOutcome>;
  /** Writes a field the profile marks writable, in engineering units. */
  write(field: string, value: number): Promise<{ address: number; registers: number[] }>;
}

/** A command the gateway refuses or a device fails, with the code screens translate. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code?: CommandErrorCode,
    /** What the command did get done before failing (read_now: which devices answered). */
    readonly data?: unknown,
  ) {
    super(message);
  }
}
