import type { RequestHandler } from 'express';

/**
 * Scripts only from our own origin, no inline scripts, no framing. Inline style attributes are allowed
 * because chart libraries (recharts) position elements with them; styles cannot run code. Media may be a
 * blob: the wall's alarm tone is synthesised in the page. The map's basemap origins (the city's tile server, from
 * the map config) are the only other places the page may fetch from.
 */
const directives = (origins: string[]) => [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  ["img-src 'self' data: blob:", ...origins].join(' '),
  "font-src 'self' data:",
  "media-src 'self' blob:",
  ["connect-src 'self'", ...origins].join(' '),
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
];

/**
 * `embedOrigins` (config public.embedOrigins, e.g. the city portal) may frame the residents' widget at
 * /public/embed and nothing else; every other page stays unframeable. The headers of a path, computed once
 * (the residents' fast path sends them without express).
 */
export function securityHeaderValues(
  secure: boolean,
  mapOrigins: string[] = [],
  embedOrigins: readonly string[] = [],
): (path: string) => Readonly<Record<string, string>> {
  const common = (csp: string): Record<string, string> => ({
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    ...(secure ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  });
  const page = { ...common([...directives(mapOrigins), "frame-ancestors 'none'"].join('; ')), 'X-Frame-Options': 'DENY' };
  const embed = common(
    [...directives(mapOrigins), `frame-ancestors 'self'${embedOrigins.map((o) => ` ${new URL(o).origin}`).join('')}`].join('; '),
  );
  return (path) => (path === '/public/embed' ? embed : page);
}

export function securityHeaders(secure: boolean, mapOrigins: string[] = [], embedOrigins: readonly string[] = []): RequestHandler {
  const headersFor = securityHeaderValues(secure, mapOrigins, embedOrigins);
  return (req, res, next) => {
    for (const [k, v] of Object.entries(headersFor(req.path))) res.setHeader(k, v);
    next();
  };
}
