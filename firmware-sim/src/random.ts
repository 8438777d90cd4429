/**
 * Deterministic randomness: every signal is a pure function of (seed, device, time), so the same seed
 * replays the same city and tests can ask "what would the sensor read at 07:30 on 3 March".
 */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    // Mix integer and fractional parts so nearby floats do not collide.
    let x = Math.floor(p) ^ Math.floor((p - Math.floor(p)) * 0x7fffffff);
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    x ^= x >>> 16;
    h = Math.imul(h ^ x, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Uniform in [0, 1). */
export function uniform(...parts: number[]): number {
  return hash32(...parts) / 0x100000000;
}

/** Approximately normal (mean 0, sd 1), from four uniforms. */
export function gaussian(...parts: number[]): number {
  let s = 0;
  for (let i = 0; i < 4; i++) s += uniform(...parts, i);
  return (s - 2) * Math.sqrt(3);
}

/** Smooth noise in [-1, 1] varying on the scale of `periodMs` (cosine-interpolated lattice). */
export function smoothNoise(seed: number, channel: number, t: number, periodMs: number): number {
  const x = t / periodMs;
  const i = Math.floor(x);
  const f = x - i;
  const a = uniform(seed, channel, i) * 2 - 1;
  const b = uniform(seed, channel, i + 1) * 2 - 1;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return a * (1 - w) + b * w;
}

/** Poisson-ish count with mean `mean`, deterministic from the key (normal approximation above 30). */
export function count(mean: number, ...key: number[]): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(...key)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = 1;
  for (;;) {
    p *= uniform(...key, 100 + k);
    if (p <= limit || k > 200) return k;
    k++;
  }
}
