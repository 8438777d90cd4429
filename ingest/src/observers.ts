import type { CityModel, GatewayHealth, GatewayStatus, StoredReading, SystemHealth } from '@tamky/protocol';

/** Implemented by alarm detection (ingest/src/alarms), injected by the composer; every hook but onReadings is optional. */
export interface ReadingObserver {
  /** Called after the readings (raw and derived) are durable. */
  onReadings(readings: StoredReading[], now: number): void | Promise<void>;
  onGatewayHealth?(health: GatewayHealth, now: number): void;
  onGatewayStatus?(status: GatewayStatus, now: number): void;
  /** A service's report of its own health (ingest's own, or one received on system/+/health). */
  onSystemHealth?(health: SystemHealth, now: number): void;
  /** Called every second. */
  tick?(now: number): void | Promise<void>;
  /** Called when a new device registry (city model) arrived on config/registry and is in force. */
  onRegistry?(city: CityModel): void;
}

export interface Observers {
  readonly count: number;
  /** True when some observer implements the hook (ticks are skipped otherwise). */
  has(hook: keyof ReadingObserver): boolean;
  /** Calls every observer in turn, awaiting each; a failing observer is reported and the next one still called. */
  call(what: string, call: (o: ReadingObserver) => void | Promise<void>): Promise<void>;
  /** The same, synchronously (hooks that return nothing). */
  callSync(what: string, call: (o: ReadingObserver) => void): void;
}

export function createObservers(observers: ReadingObserver[], onError: (err: unknown, what: string) => void): Observers {
  return {
    count: observers.length,
    has: (hook) => observers.some((o) => o[hook]),
    async call(what, call) {
      for (const o of observers) {
        try {
          await call(o);
        } catch (err) {
          onError(err, what);
        }
      }
    },
    callSync(what, call) {
      for (const o of observers) {
        try {
          call(o);
        } catch (err) {
          onError(err, what);
        }
      }
    },
  };
}
