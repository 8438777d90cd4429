import { useSyncExternalStore } from 'react';

/** History routing: the server answers index.html for every non-API path. */
const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  listeners.forEach((l) => l());
  window.scrollTo?.(0, 0);
}

export interface Location {
  path: string;
  search: URLSearchParams;
}

let cached: { href: string; loc: Location } | null = null;
export function snapshot(): Location {
  const href = location.pathname + location.search;
  if (cached?.href !== href)
    cached = { href, loc: { path: location.pathname.replace(/\/+$/, '') || '/', search: new URLSearchParams(location.search) } };
  return cached.loc;
}

export function useLocation(): Location {
  return useSyncExternalStore((cb) => {
    listeners.add(cb);
    return () => listeners.delete(cb);
  }, snapshot);
}
