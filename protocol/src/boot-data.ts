/**
 * The answers a page load needs before its first render, inlined by the server into index.html for a signed-in
 * browser so no request precedes it: a JSON data block (`<script type="application/json">`, never executed, so
 * the Content-Security-Policy's "no inline scripts" holds) read by the web app's boot.
 */

import type { LiveChannel } from './api/live';

/** id of the data block in index.html. */
export const BOOT_DATA_ID = 'boot-data';

/** What the block holds: each GET's answer keyed by its URL, as the client would have asked for it. */
export interface BootData {
  answers: Record<string, unknown>;
}

/** Asked on every page: the session check and the city model. */
const EVERY_PAGE = ['/api/auth/me', '/api/city'];
/** What a page route shows first, besides the above. */
const ROUTE_ANSWERS: Record<string, string[]> = {
  '/': ['/api/overview', '/api/limits'],
};

/** The GET URLs (no query) whose answers a page at `pagePath` needs first. */
export function bootUrlsFor(pagePath: string): string[] {
  const path = pagePath.replace(/\/+$/, '') || '/';
  return [...EVERY_PAGE, ...(ROUTE_ANSWERS[path] ?? [])];
}

/**
 * The live channels a page route's first view listens to. The page subscribes to them as its socket opens and
 * holds what arrives until the view mounts: the first live value is on screen with the view's first render, and
 * nothing that happened between the server's answers and the view's mount is missed.
 */
const ROUTE_CHANNELS: Record<string, LiveChannel[]> = {
  '/': ['alarms', 'derived', 'readings'],
};

/** The live channels a page at `pagePath` asks for at boot (none: its view subscribes when it mounts). */
export function bootChannelsFor(pagePath: string): LiveChannel[] {
  return ROUTE_CHANNELS[pagePath.replace(/\/+$/, '') || '/'] ?? [];
}

/**
 * Each page route's view: the web app's module `src/views/<name>.tsx`, loaded on demand. The web app's router and
 * the server (which names the view's code in index.html so the browser fetches it with the entry) both read it.
 */
export const PAGE_VIEWS: Readonly<Record<string, string>> = {
  '/': 'OverviewView',
  '/environment': 'EnvironmentView',
  '/traffic': 'TrafficView',
  '/lighting': 'LightingView',
  '/reports': 'ReportsView',
  '/alarms': 'AlarmsView',
  '/gateways': 'GatewaysView',
  '/devices': 'DeviceView',
  '/data-quality': 'DataQualityView',
  '/admin': 'AdminView',
  '/rules': 'AdminRulesView',
  '/admin/recipients': 'AdminRecipientsView',
  '/admin/devices': 'AdminDevicesView',
  '/admin/audit': 'AdminAuditView',
  '/admin/alarm-health': 'AlarmHealthView',
  '/admin/messages': 'AdminMessagesView',
  '/account': 'AccountView',
  '/wall': 'WallView',
};

/** Routes with a parameter: `/alarms/<id>`, `/devices/<id>`. */
const PARAM_ROUTE = /^\/(alarms|devices)\/(.+)$/;

/** The route a page path shows (its key in PAGE_VIEWS) and its parameter; null: no such page. */
export function pageRoute(pagePath: string): { route: string; param?: string } | null {
  const path = pagePath.replace(/\/+$/, '') || '/';
  if (PAGE_VIEWS[path]) return { route: path };
  const m = PARAM_ROUTE.exec(path);
  return m ? { route: `/${m[1]}`, param: decodeURIComponent(m[2]!) } : null;
}

/** A Vite build manifest's entries, as far as preloading reads them. */
export type ViteManifest = Record<string, { file: string; imports?: string[]; css?: string[]; isEntry?: boolean }>;

/**
 * `<link>` tags naming the code (and styles) of the view a page path shows, beyond what the entry already loads:
 * the browser fetches and compiles them beside the entry instead of after it has run.
 */
export function viewPreloadTags(manifest: ViteManifest, pagePath: string, entry = 'index.html'): string {
  const view = PAGE_VIEWS[pageRoute(pagePath)?.route ?? ''];
  const key = view && `src/views/${view}.tsx`;
  if (!key || !manifest[key]) return '';
  const closure = (k: string, into: Set<string>): Set<string> => {
    const e = manifest[k];
    if (!e || into.has(k)) return into;
    into.add(k);
    for (const i of e.imports ?? []) closure(i, into);
    return into;
  };
  const loaded = closure(entry, new Set());
  const tags: string[] = [];
  for (const k of closure(key, new Set())) {
    if (loaded.has(k)) continue;
    const e = manifest[k]!;
    tags.push(`<link rel="modulepreload" crossorigin href="/${e.file}">`);
    for (const css of e.css ?? []) tags.push(`<link rel="stylesheet" crossorigin href="/${css}">`);
  }
  return tags.join('');
}

/**
 * JSON safe inside a `<script>` element: `<` is escaped so no value (a device name, a ward's) can close the
 * element or open a comment; U+2028/2029 for older parsers.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * index.html with the block inserted before `</head>` (ahead of the app's module script, which runs deferred);
 * `head`: more tags for there (viewPreloadTags).
 */
export function withBootData(html: string, data: BootData | null, head = ''): string {
  const block = (data ? `<script type="application/json" id="${BOOT_DATA_ID}">${jsonForHtml(data)}</script>` : '') + head;
  const at = html.indexOf('</head>');
  return at < 0 ? html : `${html.slice(0, at)}${block}${html.slice(at)}`;
}
