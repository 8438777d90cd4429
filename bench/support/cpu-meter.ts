import { processTreeCpuMs } from './proc-cpu';

/**
 * CPU time spent since the meter started, in ms: this process (every thread) plus the peer processes given
 * (broker, database, child services, with their descendants; read from /proc). Divided by the units done it is the CPU per unit, which
 * a shared machine's load changes far less than a wall rate.
 */
export function startCpuMeter(pids: ReadonlyArray<number | undefined> = [], opts: { self?: boolean } = {}): { ms(): number } {
  const self = opts.self ?? true;
  const own = process.cpuUsage();
  const peers = pids.filter((p): p is number => p !== undefined).map((pid) => ({ pid, from: processTreeCpuMs(pid) }));
  return {
    ms() {
      const u = process.cpuUsage(own);
      let peerMs = 0;
      for (const p of peers) {
        try {
          peerMs += processTreeCpuMs(p.pid) - p.from;
        } catch {
          // the peer exited: its CPU up to then is not readable any more
        }
      }
      return (self ? (u.user + u.system) / 1000 : 0) + peerMs;
    },
  };
}
