import { useEffect, useRef } from 'react';
import type { Alarm } from '../api/types';
import { liveFeed } from './feed';

/** How long a batch may wait when the page draws no frames (a hidden tab: animation frames are paused). */
const HIDDEN_FLUSH_MS = 250;

/**
 * Live alarm changes, delivered in batches: every change that arrived since the last frame, at most once per
 * animation frame. A storm sends hundreds of changes a second; applying them one message at a time re-derives and
 * re-renders the whole list for each, applying them per frame does it once.
 */
export function useAlarmUpdates(onBatch: (alarms: Alarm[]) => void): void {
  const handler = useRef(onBatch);
  handler.current = onBatch;
  useEffect(() => {
    let pending: Alarm[] = [];
    let frame: number | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      frame = null;
      timer = null;
      const batch = pending;
      pending = [];
      if (batch.length) handler.current(batch);
    };
    liveFeed.start();
    const unsubscribe = liveFeed.subscribe(['alarms'], (msg) => {
      if (msg.type !== 'alarm') return;
      pending.push(msg.alarm);
      if (frame === null) frame = requestAnimationFrame(flush);
      if (timer === null) timer = setTimeout(flush, HIDDEN_FLUSH_MS);
    });
    return () => {
      unsubscribe();
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
    };
  }, []);
}
