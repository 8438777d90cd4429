import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = (() => {
  try {
    return Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat. Unlike a wall
 * rate it does not depend on how busy the rest of a shared machine is: the cost per message of a broker.
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces): state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / ticksPerSecond;
}

/** processCpuMs of a process and every live descendant (a `tsx` or `npx` wrapper runs the real program as a child). */
export function processTreeCpuMs(pid: number): number {
  let total = processCpuMs(pid);
  for (const child of childrenOf(pid)) {
    try {
      total += processTreeCpuMs(child);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`))
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
  } catch {
    // no /proc children file (exited, or a kernel without it): the process alone
  }
  return out;
}
