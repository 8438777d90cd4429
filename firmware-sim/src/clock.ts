/** Simulated time that runs `speed`× the base clock from the moment it is created. */
export function simulatedClock(speed = 1, base: () => number = Date.now, start?: number): () => number {
  const realStart = base();
  const simStart = start ?? realStart;
  return () => simStart + (base() - realStart) * speed;
}
