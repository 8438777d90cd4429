/**
 * During a CONNECT flood every refusal would be a log line. Keeps the first per key (reason + address) and
 * then at most one per `intervalMs`, reporting how many were suppressed; counters still count every one.
 */
export function createLogLimiter(intervalMs = 10_000, maxKeys = 10_000) {
  const seen = new Map<string, { last: number; suppressed: number }>();
  return (key: string, emit: (suppressed: number) => void): void => {
    const now = Date.now();
    const entry = seen.get(key);
    if (entry && now - entry.last < intervalMs) {
      entry.suppressed++;
      return;
    }
    if (!entry && seen.size >= maxKeys) seen.clear();
    emit(entry?.suppressed ?? 0);
    seen.set(key, { last: now, suppressed: 0 });
  };
}
