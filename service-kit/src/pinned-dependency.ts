import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The version of `pkg` that a module importing it would load: Node's lookup of a bare package name, from the
 * importing module's directory up through every `node_modules` (an installed package's own package.json,
 * whatever its `exports` allow). `url` is that package.json, from which its own dependencies are looked up.
 */
export function installedVersion(pkg: string, fromModuleUrl: string): { version?: string; url: string } | undefined {
  let dir = dirname(fileURLToPath(fromModuleUrl));
  for (;;) {
    const manifest = join(dir, 'node_modules', pkg, 'package.json');
    if (existsSync(manifest))
      return { version: (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version, url: pathToFileURL(manifest).href };
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * An adapter that reaches into a library's internals works only with the version it was tested with: refuse
 * to start on any other, naming what to do, rather than fail in some odd way under load. Returns the URL of the
 * package's package.json (to check the dependencies it loads, from there).
 */
export function requirePinnedVersion(pkg: string, tested: string, adapter: string, fromModuleUrl: string): string {
  const found = installedVersion(pkg, fromModuleUrl);
  if (found?.version === tested) return found.url;
  throw new Error(
    `${pkg} ${found?.version ?? '(not found)'} is installed, but ${adapter} reaches into ${pkg} internals and was tested with ${pkg} ${tested} only: ` +
      `install ${pkg}@${tested} (package.json pins it), or re-test the adapter with the new version and update its pinned version`,
  );
}
