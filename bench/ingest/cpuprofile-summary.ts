/**
 * Self and inclusive time per function of a V8 .cpuprofile, per reading: where ingest's CPU goes.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/ingest/run.ts --readings 300000 --stores null --rounds 1 --no-direct
 *   npx tsx bench/ingest/cpuprofile-summary.ts /tmp/prof/<largest>.cpuprofile --readings 300000 [--top 40]
 *
 * The largest profile is the main thread's (tsx's loader thread writes a small one). Times include start-up
 * (module loading) and the idle time between rounds; compare functions, not the total.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { readings: { type: 'string', default: '300000' }, top: { type: 'string', default: '40' } },
});
if (positionals.length !== 1) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [--readings N] [--top N]');
const readings = Number(args.readings);
const top = Number(args.top);
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const sampled = new Map<number, number>();
profile.samples.forEach((id, i) => sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const name = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*?\/(node_modules\/)?(?=[^/]+\/[^/]+$|[^/]+$)/, '')}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of sampled) {
  const n = byId.get(id)!;
  self.set(name(n), (self.get(name(n)) ?? 0) + us);
  // A recursive function counts once per sample in its inclusive time.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = name(byId.get(at)!);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const total = [...sampled.values()].reduce((a, b) => a + b, 0);
const idle = self.get('(idle) :0') ?? 0;
console.log(
  `profile ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, busy ${((total - idle) / readings).toFixed(2)} µs per reading (${readings} readings)`,
);
for (const [title, times] of [
  ['self', self],
  ['inclusive', inclusive],
] as const) {
  console.log(`\n${title} time, µs per reading`);
  for (const [fn, us] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${(us / readings).toFixed(3).padStart(8)}  ${fn}`);
}
