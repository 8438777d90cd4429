/**
 * How fast this machine is right now (not a bench of the project): `npx tsx bench/support/speed-probe.ts`.
 * Times JSON.stringify of live-feed-shaped messages (500 readings of 4 values each) in this process alone and
 * prints ns per reading. The 2-core machine's speed moves during a day with no steal time reported; run this
 * beside a bench and quote it, so figures from different hours can be told apart.
 */
const PER_MESSAGE = 500;
const MESSAGES = 50;
const REPEATS = 40;

const reading = (i: number) => ({
  kind: 'air_station',
  device: `an-my-air-${i}`,
  gateway: `gw-an-my-${i % 7}`,
  ward: 'an-my',
  ts: 1_765_000_000_000 + i,
  seq: 123_456 + i,
  values: { pm25: 12.3 + i / 7, pm10: 40.1, no2: 17.25 + i, o3: 33 },
});
const messages = Array.from({ length: MESSAGES }, (_, m) => Array.from({ length: PER_MESSAGE }, (_, i) => reading(m * PER_MESSAGE + i)));

let best = Infinity;
for (let round = 0; round < 3; round++) {
  let chars = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < REPEATS; r++) for (const readings of messages) chars += JSON.stringify({ readings }).length;
  const ns = Number(process.hrtime.bigint() - t0) / (REPEATS * MESSAGES * PER_MESSAGE);
  if (chars === 0) throw new Error('nothing serialised');
  best = Math.min(best, ns);
}
console.log(`speed probe: JSON.stringify ${best.toFixed(0)} ns per reading (best of 3; lower is faster)`);
