import type { DeviceHealth, GatewayFleetHealth, GatewayHealth } from '@tamky/protocol';
import { diskSpace } from '@tamky/service-kit';

/** Samples CPU use between two reports (percent of one core). */
export function cpuSampler(): () => number {
  let last = process.cpuUsage();
  let lastAt = performance.now();
  return () => {
    const now = performance.now();
    const usage = process.cpuUsage(last);
    const pct = ((usage.user + usage.system) / 1000 / Math.max(1, now - lastAt)) * 100;
    last = process.cpuUsage();
    lastAt = now;
    return Math.round(pct * 10) / 10;
  };
}

export function buildHealth(args: {
  gatewayId: string;
  ts: number;
  startedAt: number;
  version: string;
  configHash: string;
  cpuPct: number;
  outboxPath: string;
  outbox: GatewayHealth['outbox'];
  devices: DeviceHealth[];
  clock?: GatewayHealth['clock'];
  fleet?: GatewayFleetHealth;
}): GatewayHealth {
  const disk = diskSpace(args.outboxPath);
  return {
    gateway: args.gatewayId,
    ts: args.ts,
    uptimeS: Math.max(0, Math.round((args.ts - args.startedAt) / 1000)),
    version: args.version,
    configHash: args.configHash,
    cpuPct: args.cpuPct,
    rssBytes: process.memoryUsage.rss(),
    diskFreeBytes: disk.free,
    diskTotalBytes: disk.total,
    outbox: args.outbox,
    devices: args.devices,
    ...(args.clock ? { clock: args.clock } : {}),
    ...(args.fleet ? { fleet: args.fleet } : {}),
  };
}
