import type { CityModel } from '@tamky/protocol';
import type { LiveChannel } from '../module';
import { inScope, wardOfThing } from '../readings/ward-scope';

/**
 * A live-feed message as a client limited to `wards` may see it: readings narrowed to its wards, alarms,
 * gateways and commands only when theirs; undefined = nothing to send. Messages of no ward (a registry
 * version) pass unchanged. Unknown shapes from modules are withheld: a new broadcast must say its ward.
 */
export function narrowToWards(city: CityModel, channel: LiveChannel, message: unknown, wards: readonly string[]): unknown {
  const m = message as {
    type?: string;
    readings?: Array<{ ward: string }>;
    alarm?: { ward?: string | null };
    gateway?: { id: string };
    command?: { gateway: string };
  };
  if ((channel === 'readings' || channel === 'derived') && Array.isArray(m.readings)) {
    const readings = m.readings.filter((r) => inScope(wards, r.ward));
    return readings.length ? { ...m, readings } : undefined;
  }
  if (channel === 'alarms' && m.alarm) return inScope(wards, m.alarm.ward) ? message : undefined;
  if (channel === 'gateways') {
    if (m.type === 'registry') return message;
    const gateway = m.gateway?.id ?? m.command?.gateway;
    if (gateway !== undefined) return inScope(wards, wardOfThing(city, 'gateway', gateway)) ? message : undefined;
  }
  return undefined;
}
