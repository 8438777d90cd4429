import { useEffect, useRef } from 'react';
import type { Alarm } from '../api/types';
import { liveFeed } from './feed';

/** At most one batch per this many ms while changes keep coming. */
const BATCH_WINDOW_MS = 250;

/**
 * Live alarm changes, delivered in batches. The first change after a quiet spell is handed over on the next animation
 * frame (a banner must not wait); while a storm keeps sending, the changes are gathered and handed over at most once per
 * `BATCH_WINDOW_MS`. Applying them one message at a time re-derived and re-drew the whole list (and repainted the
 * screen) for each of hundreds of messages a second.
 */
export function useAlarmUpdates(onBatch: (alarms: Alarm[]) => void): void {
  const handler = useRef(onBatch);
  handler.current = onBatch;
  useEffect(() => {
    let pending: Alarm[] = [];
    let frame: number | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let lastFlush = -Infinity;
    const flush = () => {
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      frame = null;
      timer = null;
      lastFlush = performance.now();
      const batch = pending;
      pending = [];
      if (batch.length) handler.current(batch);
    };
    liveFeed.start();
    const unsubscribe = liveFeed.subscribe(['alarms'], (msg) => {
      if (msg.type !== 'alarm') return;
      pending.push(msg.alarm);
      if (frame !== null || timer !== null) return;
      const wait = lastFlush + BATCH_WINDOW_MS - performance.now();
      if (wait > 0) timer = setTimeout(flush, wait);
      else {
        frame = requestAnimationFrame(flush);
        // A hidden page draws no frames: the timer hands the batch over there.
        timer = setTimeout(flush, BATCH_WINDOW_MS);
      }
    });
    return () => {
      unsubscribe();
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
    };
  }, []);
}
