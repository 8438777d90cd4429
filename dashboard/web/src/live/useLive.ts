import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { LiveChannel, LiveMessage } from '../api/types';
import { liveFeed, type FeedState } from './feed';

/** Connection state of the page's live feed (re-renders on change). */
export function useFeedState(): FeedState {
  return useSyncExternalStore(
    (cb) => liveFeed.onState(cb),
    () => liveFeed.state,
  );
}

/** Subscribe the calling view to channels; the handler always sees the latest closure. */
export function useLive(channels: LiveChannel[], onMessage: (msg: LiveMessage) => void): void {
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const key = channels.join(',');
  useEffect(() => {
    liveFeed.start();
    return liveFeed.subscribe(key.split(',') as LiveChannel[], (msg) => handler.current(msg));
  }, [key]);
}

/** A clock that re-renders every `everyMs` (staleness and "3 phút trước" labels must age on screen). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
