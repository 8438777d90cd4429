import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * One scrypt implementation for the whole system: MQTT credentials (broker), account passwords and kiosk tokens
 * (dashboard). OWASP's floor (N=2^17, r=8, p=1) needs 128 MiB per hash, too heavy for a CONNECT storm; 2^15 needs
 * a quarter of that.
 */
const DEFAULT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 };

function scryptAsync(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const maxmem = (N: number, r: number) => 256 * N * r + 1024 * 1024;

/** Returns a self-describing `scrypt$N$r$p$salt$hash` (salt and hash base64), so parameters can change later. */
export async function hashSecret(secret: string, params: Partial<{ N: number; r: number; p: number }> = {}): Promise<string> {
  const N = params.N ?? DEFAULT.N;
  const r = params.r ?? DEFAULT.r;
  const p = params.p ?? DEFAULT.p;
  const salt = randomBytes(DEFAULT.saltLength);
  const key = await scryptAsync(secret, salt, DEFAULT.keyLength, { N, r, p, maxmem: maxmem(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Timing-safe comparison; a malformed hash is simply "no match" (never throws on bad config data). */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16 || salt.length < 8) return false;
  try {
    const actual = await scryptAsync(secret, salt, expected.length, { N, r, p, maxmem: maxmem(N, r) });
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}
