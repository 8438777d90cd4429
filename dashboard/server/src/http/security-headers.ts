import type { RequestHandler } from 'express';

/**
 * Scripts only from our own origin, no inline scripts, no framing. Inline style attributes are allowed
 * because chart libraries (recharts) position elements with them; styles cannot run code. Media may be a
 * blob: the wall's alarm tone is synthesised in the page. The map's basemap origins (the city's tile server, from
 * the map config) are the only other places the page may fetch from.
 */
const csp = (origins: string[]) =>
  [
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
    "frame-ancestors 'none'",
  ].join('; ');

export function securityHeaders(secure: boolean, mapOrigins: string[] = []): RequestHandler {
  const CSP = csp(mapOrigins);
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  };
}
