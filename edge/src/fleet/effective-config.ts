import type { PushedConfig } from '@tamky/protocol';
import { gatewayConfigSchema, type DeviceConfig, type GatewayConfig } from '../config';

/**
 * The configuration the gateway runs: its own file (buses, wiring, broker, outbox) with the devices and poll
 * intervals the centre pushed, then the poll intervals set by command. A pushed device the file does not wire
 * must bring its wiring (profile, bus); a device of the file the centre does not list is disabled. The result
 * goes through the same validation as the file (profiles, buses, replay rate), so a push the gateway cannot
 * run is refused with the same messages a technician would get at start.
 */
export function effectiveConfig(file: GatewayConfig, pushed: PushedConfig | null, pollIntervals: Record<string, number>): GatewayConfig {
  let devices: DeviceConfig[] = file.devices;
  const problems: string[] = [];
  if (pushed) {
    const listed = new Set(pushed.devices.map((d) => d.id));
    devices = [
      ...pushed.devices.map((p): DeviceConfig | undefined => {
        const local = file.devices.find((d) => d.id === p.id);
        const { enabled, ...rest } = p;
        if (local) return { ...local, ...rest, enabled: enabled ?? true };
        if (!p.profile || !p.bus) {
          problems.push(
            `device "${p.id}" is not wired on this gateway: its file names no bus and profile for it, and the push brings none`,
          );
          return undefined;
        }
        return { overrides: {}, unitId: 1, ...rest, profile: p.profile, bus: p.bus, enabled: enabled ?? true };
      }),
      ...file.devices.filter((d) => !listed.has(d.id)).map((d) => ({ ...d, enabled: false })),
    ].filter((d): d is DeviceConfig => d !== undefined);
  }
  if (problems.length) throw new Error(problems.join('; '));
  devices = devices.map((d) => (pollIntervals[d.id] ? { ...d, pollIntervalMs: pollIntervals[d.id]! } : d));
  const parsed = gatewayConfigSchema.safeParse({ ...file, devices });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}
