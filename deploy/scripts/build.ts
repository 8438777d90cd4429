/**
 * `npm run build` (after the web build): compiles every service's CLI to one JavaScript bundle per service, so
 * images, the systemd unit and compose run `node <workspace>/dist/cli.js`, never tsx.
 *
 * Our workspaces (@tamky/*) are bundled in; every third-party package stays an import resolved from
 * node_modules at run time, exactly as from sources (native bindings, pino's worker transports and the
 * version checks of the adapters all need the real package on disk). Source maps point at the TypeScript:
 * run with `--enable-source-maps` for stack traces in terms of src/.
 *
 * Each bundle sits at `<workspace>/dist/cli.js`, one folder below the workspace like src/*.ts, so what a
 * module finds relative to itself (its package.json, edge's profiles/, lorawan's codecs/) is found from the
 * bundle too.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuiltin } from 'node:module';
import { build, type Metafile, type Plugin } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServiceEntry {
  /** Workspace folder, relative to the repository root. */
  workspace: string;
  /** Entry points, relative to the workspace, each compiled to dist/<basename>.js. */
  entries: string[];
  /** Opens the SQLite store, whose worker thread is then compiled beside it. */
  storeThread?: boolean;
}

/** What runs in production (and the demo, which the default image runs). */
export const SERVICES: ServiceEntry[] = [
  { workspace: 'broker', entries: ['src/cli.ts'] },
  { workspace: 'ingest', entries: ['src/cli.ts'], storeThread: true },
  { workspace: 'dashboard/server', entries: ['src/cli.ts'], storeThread: true },
  { workspace: 'edge', entries: ['src/cli.ts'] },
  { workspace: 'lorawan', entries: ['src/cli.ts'] },
  { workspace: 'demo', entries: ['src/cli.ts', 'src/simulated-gateways-cli.ts'], storeThread: true },
  // Run inside the dashboard's container (deploy/README.md, "Backups"), where there is no tsx.
  { workspace: 'deploy', entries: ['scripts/backup-state.ts'] },
];

/** The SQLite store's worker thread, compiled beside every bundle that may open it (worker-store.ts). */
const STORE_THREAD = 'store/src/sqlite/store-thread.ts';

/** Third-party imports stay imports; @tamky/* and relative imports are compiled in. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@tamky/') || isBuiltin(args.path) ? undefined : { path: args.path, external: true },
    );
  },
};

export interface BuiltBundle {
  workspace: string;
  outDir: string;
  metafile: Metafile;
}

/** Compiles one workspace's entries (and the store thread where needed) into `outDir` (default `<workspace>/dist`). */
export async function buildService(service: ServiceEntry, outDir = join(ROOT, service.workspace, 'dist')): Promise<BuiltBundle> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [...service.entries, ...(service.storeThread ? [relative(service.workspace, STORE_THREAD)] : [])].map((e) => ({
      in: join(ROOT, service.workspace, e),
      out: basename(e, '.ts'),
    })),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    define: { TAMKY_COMPILED: 'true' },
    plugins: [externalPackages],
  });
  return { workspace: service.workspace, outDir, metafile: result.metafile };
}

/** Third-party packages a bundle imports at run time, with the source file that imports each (for resolution). */
export function externalImports(metafile: Metafile): Map<string, string> {
  const found = new Map<string, string>();
  for (const [file, input] of Object.entries(metafile.inputs))
    for (const imp of input.imports)
      if (imp.external && !isBuiltin(imp.path)) {
        const name = imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0]!;
        if (!found.has(name)) found.set(name, resolve(ROOT, file));
      }
  return found;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const service of SERVICES) {
    const built = await buildService(service);
    console.log(`built ${relative(ROOT, built.outDir)}/ (${service.entries.length} entr${service.entries.length === 1 ? 'y' : 'ies'})`);
  }
}
