import { useEffect, useRef } from 'react';
import type { Alarm } from '../api/types';
import { liveFeed } from './feed';

/** At most one batch per this many ms while changes keep coming. */
const BATCH_WINDOW_MS = 250;

/** A storm that pauses this long is handed over at once, not at the end of its window: its last alarm must not wait. */
const QUIET_MS = 50;

/**
 * Live alarm changes, delivered in batches. The first change after a quiet spell is handed over on the next animation
 * frame (a banner must not wait); while a storm keeps sending, the changes are gathered and handed over at most once per
 * `BATCH_WINDOW_MS`, or as soon as the storm pauses for `QUIET_MS`. Applying them one message at a time re-derived and
 * re-drew the whole list (and repainted the screen) for each of hundreds of messages a second.
 */
export function useAlarmUpdates(onBatch: (alarms: Alarm[]) => void): void {
  const handler = useRef(onBatch);
  handler.current = onBatch;
  useEffect(() => {
    let pending: Alarm[] = [];
    let frame: number | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let quiet: ReturnType<typeof setTimeout> | null = null;
    let lastFlush = -Infinity;
    const flush = () => {
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      if (quiet !== null) clearTimeout(quiet);
      frame = null;
      timer = null;
      quiet = null;
      lastFlush = performance.now();
      const batch = pending;
      pending = [];
      if (batch.length) handler.current(batch);
    };
    liveFeed.start();
    const unsubscribe = liveFeed.subscribe(['alarms'], (msg) => {
      if (msg.type !== 'alarm') return;
      pending.push(msg.alarm);
      if (frame !== null) return;
      if (timer !== null) {
        // Inside a window: hand over when the window ends or the storm pauses, whichever comes first.
        if (quiet !== null) clearTimeout(quiet);
        quiet = setTimeout(flush, QUIET_MS);
        return;
      }
      const wait = lastFlush + BATCH_WINDOW_MS - performance.now();
      if (wait > 0) {
        timer = setTimeout(flush, wait);
        quiet = setTimeout(flush, QUIET_MS);
      } else {
        frame = requestAnimationFrame(flush);
        // A hidden page draws no frames: the timer hands the batch over there.
        timer = setTimeout(flush, BATCH_WINDOW_MS);
      }
    });
    return () => {
      unsubscribe();
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      if (quiet !== null) clearTimeout(quiet);
    };
  }, []);
}
