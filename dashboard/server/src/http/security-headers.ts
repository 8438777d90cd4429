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
 * /public/embed and nothing else; every other page stays unframeable.
 */
export function securityHeaders(secure: boolean, mapOrigins: string[] = [], embedOrigins: readonly string[] = []): RequestHandler {
  const CSP = [...directives(mapOrigins), "frame-ancestors 'none'"].join('; ');
  const embedCsp = [...directives(mapOrigins), `frame-ancestors 'self'${embedOrigins.map((o) => ` ${new URL(o).origin}`).join('')}`].join(
    '; ',
  );
  return (req, res, next) => {
    const embed = req.path === '/public/embed';
    res.setHeader('Content-Security-Policy', embed ? embedCsp : CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (!embed) res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  };
}
