/**
 * The crowd, in a process of its own: on {url, concurrency, seconds} it answers {ready}; on {go} it sends
 * waves of `concurrency` simultaneous GET /api/public/summary (each from its own X-Forwarded-For address, as
 * residents behind the city's reverse proxy) until `seconds` passed, then answers with the counts and its own CPU time.
 */
interface Job {
  url: string;
  /** Default /api/public/summary; "/api/public/summary/" (trailing slash) takes the express stack instead of the fast path. */
  path?: string;
  concurrency: number;
  seconds: number;
}
let job: Job | undefined;
let n = 0;
const address = () => {
  n++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};
process.on('message', async (m: Job | { go: true }) => {
  if ('url' in m) {
    job = m;
    return process.send!({ ready: true });
  }
  const { url, concurrency, seconds, path = '/api/public/summary' } = job!;
  const byStatus: Record<number, number> = {};
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  let waves = 0;
  while (performance.now() < end) {
    waves++;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const t0 = performance.now();
        const res = await fetch(`${url}${path}`, { headers: { 'x-forwarded-for': address() } });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      }),
    );
  }
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  process.send!({
    waves,
    requests: latencies.length,
    byStatus,
    cpuMs: (cpu.user + cpu.system) / 1000,
    p50: latencies[Math.floor(latencies.length / 2)],
    p99: latencies[Math.floor(latencies.length * 0.99)],
  });
  process.exit(0);
});
