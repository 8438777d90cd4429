import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express from 'express';
import type { Logger } from '@tamky/service-kit';
import { sendError } from './errors';

/**
 * Serves the built web app; routes of the single-page app (/wall, /gateways/…) get index.html, the
 * residents' page (/public, /public/embed) its own small public.html.
 */
export function mountWebApp(app: express.Express, webDist: string | undefined, logger: Logger): void {
  if (!webDist) return;
  const dir = resolve(webDist);
  const index = join(dir, 'index.html');
  const publicPage = join(dir, 'public.html');
  if (!existsSync(index)) logger.warn({ dir }, 'web app not built (no index.html): only the API is served');
  app.use(
    express.static(dir, {
      index: false,
      maxAge: '1h',
      setHeaders: (res, path) => path.endsWith('.html') && res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  app.use((req, res, next) => {
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      req.path.startsWith('/api/') ||
      req.path === '/ws' ||
      /\.[a-z0-9]+$/i.test(req.path)
    )
      return next();
    const page = req.path === '/public' || req.path.startsWith('/public/') ? publicPage : index;
    if (!existsSync(page)) return sendError(res, 503, 'web_not_built', 'the web app has not been built: npm run build:web');
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(page);
  });
}
