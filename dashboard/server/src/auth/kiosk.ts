import { verifyPassword } from '../passwords';

/** Wall screens authenticate with a long random token; only its scrypt hash is in the config. */
export function createKioskVerifier(tokens: Array<{ name: string; tokenHash: string }>) {
  // scrypt per configured token is slow-ish by design; remember tokens already proven so a wall screen
  // reconnecting its WebSocket does not cost a scrypt run each time.
  const proven = new Map<string, string>();
  return async function verifyKioskToken(token: string): Promise<string | null> {
    if (!token || token.length > 512) return null;
    const known = proven.get(token);
    if (known) return known;
    for (const t of tokens) {
      if (await verifyPassword(token, t.tokenHash)) {
        if (proven.size > 100) proven.clear();
        proven.set(token, t.name);
        return t.name;
      }
    }
    return null;
  };
}
