import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express from 'express';
import { viewPreloadTags, withBootData, type ViteManifest } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { sendError } from './errors';
import type { BootAnswers } from './boot-answers';

/**
 * Serves the built web app; routes of the single-page app (/wall, /gateways/…) get index.html, the
 * residents' page (/public, /public/embed) its own small public.html. For a signed-in browser index.html carries
 * the page's first answers (`bootAnswers`), so nothing is asked before the first render.
 */
export function mountWebApp(app: express.Express, webDist: string | undefined, logger: Logger, bootAnswers?: BootAnswers): void {
  if (!webDist) return;
  const dir = resolve(webDist);
  const index = join(dir, 'index.html');
  const publicPage = join(dir, 'public.html');
  if (!existsSync(index)) logger.warn({ dir }, 'web app not built (no index.html): only the API is served');
  // Read once on first use (the build does not change under a running server).
  let indexHtml: string | null = null;
  let manifest: ViteManifest | null = null;
  /** The page's view code named in its head (no manifest, e.g. a hand-made dist: the app loads it itself). */
  const preloads = (path: string): string => {
    manifest ??= readManifest(join(dir, '.vite/manifest.json'));
    return viewPreloadTags(manifest, path);
  };
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
    if (page !== index) {
      res.setHeader('Cache-Control', 'no-cache');
      return res.sendFile(page);
    }
    (bootAnswers ? bootAnswers(req) : Promise.resolve(null))
      .then((data) => {
        indexHtml ??= readFileSync(index, 'utf8');
        // A signed-in page holds the session's data: never stored by a cache, never sent to another cookie.
        res.setHeader('Cache-Control', data ? 'no-store' : 'no-cache');
        res.setHeader('Vary', 'Cookie');
        res.type('html').send(withBootData(indexHtml, data, preloads(req.path)));
      })
      .catch(next);
  });
}

function readManifest(file: string): ViteManifest {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ViteManifest;
  } catch {
    return {};
  }
}
