/**
 * The answers a page load needs before its first render, inlined by the server into index.html for a signed-in
 * browser so no request precedes it: a JSON data block (`<script type="application/json">`, never executed, so
 * the Content-Security-Policy's "no inline scripts" holds) read by the web app's boot.
 */

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
 * JSON safe inside a `<script>` element: `<` is escaped so no value (a device name, a ward's) can close the
 * element or open a comment; U+2028/2029 for older parsers.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** index.html with the block inserted before `</head>` (ahead of the app's module script, which runs deferred). */
export function withBootData(html: string, data: BootData): string {
  const block = `<script type="application/json" id="${BOOT_DATA_ID}">${jsonForHtml(data)}</script>`;
  const at = html.indexOf('</head>');
  return at < 0 ? html : `${html.slice(0, at)}${block}${html.slice(at)}`;
}
