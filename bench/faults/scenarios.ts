import type { Environment } from './environment';
import { startGarbageFlood, type GarbageFlood } from './garbage';

/**
 * A fault: `begin` breaks something, `end` repairs it. Kill faults (process crashes) have a short outage
 * (`killDownMs`: the time until a supervisor would restart the process); the others last `faultMs`.
 */
export interface Scenario {
  name: string;
  what: string;
  /** Only meaningful for one store type. */
  store?: 'sqlite' | 'influxdb';
  /** Needs gateways with a skewed clock from the start (the environment is built with them). */
  clockSkew?: boolean;
  /** Steps the clocks of `steppedGateways`: their device ts says nothing about delay. */
  clockStep?: boolean;
  kind: 'kill' | 'window';
  begin(env: Environment): Promise<void>;
  end(env: Environment): Promise<void>;
  /** Extra figures for the report (e.g. garbage sent). */
  extra?(): Record<string, number | string>;
}

/** Gateways whose clocks are wrong in the clock_skew scenario: one 10 min ahead, one 2 h behind. */
export const skewedGateways = (ids: string[]): Record<string, number> => ({ [ids[0]!]: 10 * 60_000, [ids[1]!]: -2 * 3_600_000 });

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Gateways whose clocks the clock_step scenario steps, with the step back each takes: one an hour (NTP
 * setting a fast clock right), one 20 s (its new readings land on the very times of readings it already
 * stored: the store must keep both, told apart by (gateway, seq)).
 */
export const steppedGateways = (ids: string[]): Record<string, number> => ({ [ids[0]!]: -HOUR, [ids[1]!]: -20_000 });

/**
 * The stepped gateways' clocks read in whole seconds (an RTC without sub-second time): after the 20 s step back
 * nearly every reading lands on exactly the time of a reading taken 20 s earlier, and polls bunched by a loaded
 * machine can share a second within an era too (the edge then starts a new era); with a ms clock, scheduling
 * jitter keeps nearly all of them a few ms apart and the stores' identity goes untested.
 */
const CLOCK_RESOLUTION_MS = 1000;

export function scenarios(): Scenario[] {
  let flood: GarbageFlood | undefined;
  let floodSent = 0;
  return [
    {
      name: 'kill_broker',
      what: 'kill -9 of the broker process, restarted (same redis-backed sessions)',
      kind: 'kill',
      begin: (env) => env.broker.kill9(),
      end: (env) => env.startBroker(),
    },
    {
      name: 'kill_ingest',
      what: 'kill -9 of the ingest process mid-stream, restarted',
      kind: 'kill',
      begin: (env) => env.ingest.kill9(),
      end: (env) => env.startIngest(),
    },
    {
      name: 'kill_gateway',
      what: 'kill -9 of one gateway process (all its gateways), restarted on the same outboxes',
      kind: 'kill',
      begin: (env) => env.gatewayProcs[0]!.kill9(),
      end: async (env) => env.gatewayProcs[0]!.start(),
    },
    {
      name: 'kill_influxdb',
      what: 'kill -9 of influxd, restarted on the same data dir',
      store: 'influxdb',
      kind: 'kill',
      begin: (env) => env.killInflux(),
      end: (env) => env.restartInflux(),
    },
    {
      name: 'link_cut',
      what: 'gateway↔broker link black-holed (connections open, no bytes), then restored',
      kind: 'window',
      begin: async (env) => env.proxy.setMode('blackhole'),
      end: async (env) => env.proxy.setMode('forward'),
    },
    {
      name: 'store_refusing',
      what: 'store refuses writes (SQLite: write lock held by another connection; InfluxDB: /write answers 503)',
      kind: 'window',
      begin: async (env) => (env.refuser ? env.refuser.setRefusing(true) : env.lockSqlite()),
      end: async (env) => (env.refuser ? env.refuser.setRefusing(false) : env.unlockSqlite()),
    },
    {
      name: 'clock_skew',
      what: 'two gateways with wrong clocks for the whole run (+10 min, −2 h); their delays are excluded',
      clockSkew: true,
      kind: 'window',
      begin: async () => undefined,
      end: async () => undefined,
    },
    {
      name: 'clock_step',
      what: 'two gateways polling every second step their clocks back (1 h; 20 s onto times already stored), then forward a day',
      clockStep: true,
      kind: 'window',
      async begin(env) {
        env.setClockOffsets(steppedGateways(env.opts.city.gateways.map((g) => g.id)), CLOCK_RESOLUTION_MS);
      },
      async end(env) {
        const back = steppedGateways(env.opts.city.gateways.map((g) => g.id));
        env.setClockOffsets(Object.fromEntries(Object.entries(back).map(([id, ms]) => [id, ms + DAY])), CLOCK_RESOLUTION_MS);
      },
    },
    {
      name: 'garbage_flood',
      what: "malformed telemetry at 500 msg/s on a real gateway's credentials (client id <gw>:flood)",
      kind: 'window',
      async begin(env) {
        const gw = env.opts.city.gateways[0]!.id;
        const device = env.opts.city.devices.find((d) => d.gateway === gw)!.id;
        flood = await startGarbageFlood({ url: env.mqttUrl, gatewayId: gw, secret: env.secrets[gw]!, perSecond: 500, realDevice: device });
      },
      async end() {
        floodSent = flood?.sent() ?? 0;
        await flood?.stop();
      },
      extra: () => ({ garbage_sent: floodSent }),
    },
  ];
}
