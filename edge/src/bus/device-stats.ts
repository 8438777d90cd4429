import type { DeviceHealth } from '@tamky/protocol';

export type FailureKind = 'timeout' | 'crc' | 'exception' | 'frame' | 'closed';

/** Per-device counters reported in the gateway's health message. */
export class DeviceStats {
  ok = 0;
  timeouts = 0;
  crcErrors = 0;
  exceptions = 0;
  lastOkTs: number | null = null;
  lastError: string | null = null;
  lastErrorTs: number | null = null;
  backoffUntil: number | null = null;
  consecutiveFailures = 0;
  skippedWhileBackedOff = 0;

  constructor(
    readonly deviceId: string,
    public pollIntervalMs: number,
  ) {}

  success(ts: number): void {
    this.ok++;
    this.lastOkTs = ts;
    this.consecutiveFailures = 0;
    this.backoffUntil = null;
  }

  failure(kind: FailureKind, message: string, ts: number): void {
    // 'closed': the bus itself is down (port unplugged); reported as a bus event, not the device's fault.
    if (kind === 'closed') {
      /* counted nowhere */
    } else if (kind === 'timeout') this.timeouts++;
    else if (kind === 'crc' || kind === 'frame') this.crcErrors++;
    else this.exceptions++;
    this.lastError = `${kind}: ${message}`;
    this.lastErrorTs = ts;
  }

  toHealth(): DeviceHealth {
    return {
      device: this.deviceId,
      ok: this.ok,
      timeouts: this.timeouts,
      crcErrors: this.crcErrors,
      exceptions: this.exceptions,
      lastOkTs: this.lastOkTs,
      lastError: this.lastError,
      lastErrorTs: this.lastErrorTs,
      backoffUntil: this.backoffUntil,
      pollIntervalMs: this.pollIntervalMs,
    };
  }
}
