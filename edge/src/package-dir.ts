import { fileURLToPath } from 'node:url';

/**
 * The edge package's folder (package.json, profiles/). This module sits one level below it, as the compiled
 * bundle does (dist/cli.js), so the same relative path holds from sources and from a release.
 */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
