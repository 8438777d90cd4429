import type { Session } from './types';

/** Errors carry the server's `{error, message}` so views can say what went wrong. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Field problems of an edited document (`issues: [{path, message}]` in the answer), for messages next to the fields. */
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export interface FieldIssue {
  path: string;
  message: string;
  /** Schema problem code (zod's) and its parameters, when the server sends them: said in the page's language. */
  code?: string;
  params?: Record<string, string | number>;
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}
/** Called when any request answers 401, so the app can go back to the login screen. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export type Query = Record<string, string | number | undefined | null | string[]>;

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(buildUrl(path, query), {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data ?? {}) as { error?: string; message?: string; issues?: FieldIssue[] };
    if (res.status === 401 && !path.startsWith('/api/auth/')) onUnauthorized?.();
    throw new ApiError(
      res.status,
      err.error ?? `http_${res.status}`,
      err.message ?? res.statusText,
      Array.isArray(err.issues) ? err.issues : [],
    );
  }
  return data as T;
}

/** GETs asked before anyone needed them (the page's first data, while its code still loads), each taken once. */
const prefetched = new Map<string, Promise<unknown>>();
/** A prefetch nobody took within this long is dropped (the next GET asks afresh). */
const PREFETCH_KEEP_MS = 10_000;

/**
 * Starts a GET now so its answer is on its way when a view asks for it with `api.get` (same path and query);
 * the first such GET takes it, later ones ask the server again.
 */
export function prefetch(path: string, query?: Query): void {
  const url = buildUrl(path, query);
  if (prefetched.has(url)) return;
  const answer = request('GET', path, undefined, query);
  // A refused prefetch (no session yet) is forgotten: the GET after signing in asks again.
  answer.catch(() => prefetched.get(url) === answer && prefetched.delete(url));
  prefetched.set(url, answer);
  setTimeout(() => prefetched.get(url) === answer && prefetched.delete(url), PREFETCH_KEEP_MS);
}

/** Answers the server inlined into the page (its boot data), each taken once, at once. */
const primed = new Map<string, unknown>();

export function prime(url: string, answer: unknown): void {
  primed.set(url, answer);
}

/**
 * The inlined answer to this GET, if the page came with one nobody took yet: a first render needs no request.
 * Left in place: React may throw away a render that suspended and run it again; `takePrimed` once it is on screen.
 */
export function peekPrimed<T>(path: string, query?: Query): T | undefined {
  return primed.get(buildUrl(path, query)) as T | undefined;
}

/** The inlined answer, taken: the next GET of the same URL asks the server. */
export function takePrimed<T>(path: string, query?: Query): T | undefined {
  const answer = peekPrimed<T>(path, query);
  primed.delete(buildUrl(path, query));
  return answer;
}

/** Signing out forgets what was asked for the previous session. */
export function dropPrefetches(): void {
  prefetched.clear();
  primed.clear();
}

function get<T>(path: string, query?: Query): Promise<T> {
  const inlined = takePrimed<T>(path, query);
  if (inlined !== undefined) return Promise.resolve(inlined);
  const url = buildUrl(path, query);
  const early = prefetched.get(url);
  if (!early) return request<T>('GET', path, undefined, query);
  prefetched.delete(url);
  return early as Promise<T>;
}

export const api = {
  get,
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string, query?: Query) => request<T>('DELETE', path, undefined, query),
  login: (username: string, password: string) => request<Session>('POST', '/api/auth/login', { username, password }),
  kiosk: (token: string) => request<Session>('POST', '/api/auth/kiosk', { token }),
  me: () => request<Session>('GET', '/api/auth/me'),
  logout: () => request<void>('POST', '/api/auth/logout', {}),
};
