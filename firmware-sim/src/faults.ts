/**
 * Faults a field device really shows, each observable on the wire. Value faults change what the
 * registers say; wire faults change whether and how the device answers.
 */
export type Fault =
  /** Measured values freeze at their current value (sensor hung, registers no longer refreshed). */
  | { type: 'stuck' }
  /** Measured values drift away from truth: +pctPerHour % of the value per simulated hour. */
  | { type: 'drift'; pctPerHour?: number }
  /** Measured values get ±pct % random noise on every update. */
  | { type: 'noise'; pct?: number }
  /** The device never answers (cable cut, dead device): the master times out. */
  | { type: 'no_answer' }
  /** Answers after delayMs (real time): a slow device or an overloaded gateway. */
  | { type: 'late_answer'; delayMs?: number }
  /** Answers with a corrupted CRC (RTU); over TCP the gateway answers exception 0x0B, as a real RTU gateway does. */
  | { type: 'crc_error' }
  /** Answers every request with this Modbus exception code (4 = device failure, 6 = busy). */
  | { type: 'exception'; code?: number }
  /** Street light: lamp `lamp` (1-based) fails: status b1 set, level 0, LED driver "open circuit". */
  | { type: 'lamp_failure'; lamp?: number }
  /** Water level: a flood rises over riseMinutes (simulated) to peakM (default alarm 3 + 0.5 m). */
  | { type: 'flood'; riseMinutes?: number; peakM?: number }
  /** Power cycle: silent for downMs (real time), then boots: uptime and counters restart from zero. */
  | { type: 'reboot'; downMs?: number }
  /** Water level: no echo (foam, debris, a spider in the horn): distance reads 0xFFFF. */
  | { type: 'no_echo' }
  /** Street light: contactor stuck closed, lamps at full output whatever the command (a day burner by daylight). */
  | { type: 'day_burner' }
  /** Street light: mains lost on the feeder; the controller answers on its backup supply, lamps and meter read 0. */
  | { type: 'power_outage' };

export type FaultType = Fault['type'];

export const FAULT_TYPES: readonly FaultType[] = [
  'stuck',
  'drift',
  'noise',
  'no_answer',
  'late_answer',
  'crc_error',
  'exception',
  'lamp_failure',
  'flood',
  'reboot',
  'no_echo',
  'day_burner',
  'power_outage',
];

/**
 * Parses the CLI form `type[:param]` (dashes or underscores): drift:pct-per-hour, noise:pct,
 * late_answer:ms, exception:code, lamp_failure:lamp, flood:rise-minutes, reboot:down-ms.
 */
export function parseFault(spec: string): Fault {
  const [rawType = '', rawParam] = spec.split(':');
  const type = rawType.replace(/-/g, '_') as FaultType;
  if (!FAULT_TYPES.includes(type)) throw new Error(`unknown fault "${rawType}" (one of ${FAULT_TYPES.join(', ')})`);
  let param: number | undefined;
  if (rawParam !== undefined && rawParam !== '') {
    param = Number(rawParam);
    if (!Number.isFinite(param)) throw new Error(`fault "${spec}": parameter "${rawParam}" is not a number`);
  }
  switch (type) {
    case 'drift':
      return { type, pctPerHour: param };
    case 'noise':
      return { type, pct: param };
    case 'late_answer':
      return { type, delayMs: param };
    case 'exception':
      return { type, code: param };
    case 'lamp_failure':
      return { type, lamp: param };
    case 'flood':
      return { type, riseMinutes: param };
    case 'reboot':
      return { type, downMs: param };
    default:
      return { type } as Fault;
  }
}

/** How the device behaves on the wire right now. */
export interface WireBehaviour {
  silent: boolean;
  delayMs: number;
  corruptCrc: boolean;
  exception?: number;
}
