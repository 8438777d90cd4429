import { telemetryBatchSchema } from '@tamky/protocol';

/** Sequence numbers in the order they were received, across all telemetry messages. */
export function receivedSeqs(messages: Array<{ topic: string; json: unknown }>, topic: string): number[] {
  return messages.filter((m) => m.topic === topic).flatMap((m) => telemetryBatchSchema.parse(m.json).readings.map((r) => r.seq));
}

/** Missing sequence numbers in 1..upTo, and how many arrived more than once. */
export function gapsAndDuplicates(seqs: number[], upTo: number): { missing: number[]; duplicates: number } {
  const seen = new Set(seqs);
  const missing: number[] = [];
  for (let s = 1; s <= upTo; s++) if (!seen.has(s)) missing.push(s);
  return { missing, duplicates: seqs.length - seen.size };
}

/** First occurrences in arrival order: must be increasing for "in order". */
export function firstOccurrences(seqs: number[]): number[] {
  const seen = new Set<number>();
  return seqs.filter((s) => (seen.has(s) ? false : (seen.add(s), true)));
}
