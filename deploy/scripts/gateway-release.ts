/**
 * `npm run release:gateway [-- --out <dir>]`: one versioned artifact for a gateway, the thing a box installs
 * (and a software update replaces): `tamky-gateway-<version>-<platform>-<arch>.tgz`, holding
 *
 *   tamky-gateway-<version>/manifest.json     name, version, entry, platform, arch, Node ABI, dependencies
 *   tamky-gateway-<version>/package.json      the edge package's, with the exact dependency versions shipped
 *   tamky-gateway-<version>/dist/cli.js(.map) the compiled gateway (deploy/scripts/build.ts)
 *   tamky-gateway-<version>/profiles/         device profiles
 *   tamky-gateway-<version>/README.md, examples/, deploy/tamky-gateway.service   install notes, configs, the unit
 *   tamky-gateway-<version>/node_modules/     the production dependencies the bundle imports, and theirs
 *
 * plus, beside it, `<same name>.json`: the manifest and the tarball's SHA-256.
 *
 * Dependencies are copied from this checkout's installed node_modules (no registry at release time), so the
 * native bindings are the ones built here: the manifest names the platform, architecture and Node ABI they
 * fit, and an install on another must refuse the artifact.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildService, externalImports, ROOT } from './build';

export interface ReleaseManifest {
  name: 'tamky-gateway';
  version: string;
  /** Relative to the release folder: `node <entry> --config <gateway.yaml>`. */
  entry: string;
  platform: NodeJS.Platform;
  arch: string;
  /** process.versions.modules of the Node that built the native bindings; another ABI cannot load them. */
  nodeAbi: string;
  nodeEngines: string;
  /** Every package in node_modules/, by its path there, with its version. */
  dependencies: Record<string, string>;
  commit: string | undefined;
}

export interface GatewayRelease {
  tarball: string;
  /** The manifest beside the tarball: the manifest plus the tarball's sha256. */
  manifestFile: string;
  manifest: ReleaseManifest;
  sha256: string;
}

/** Needed only while a package is installed (fetching or compiling its binary; the release carries the binary) or compiled. */
const notAtRunTime = (name: string) => ['prebuild-install', 'node-gyp', 'node-addon-api'].includes(name) || name.startsWith('@types/');

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: { node?: string };
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Node's lookup: the nearest node_modules/<name> from `fromDir` upwards. */
function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Where a package installed in the checkout goes in the release: the same path below the nearest node_modules chain. */
function placeInRelease(packageDir: string): string {
  const rel = relative(ROOT, packageDir).split(sep);
  return join(...rel.slice(rel.indexOf('node_modules')));
}

/** The production dependency closure of the given imports: release path → checkout path. */
function dependencyClosure(imports: Map<string, string>): Map<string, string> {
  const placed = new Map<string, string>();
  const queue = [...imports].map(([name, importer]) => ({ name, from: dirname(importer), optional: false }));
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift()!;
    if (notAtRunTime(name)) continue;
    const dir = findPackageDir(name, from);
    if (!dir) {
      if (optional) continue;
      throw new Error(`gateway release: ${name} (needed from ${relative(ROOT, from)}) is not installed; run npm ci`);
    }
    const target = placeInRelease(dir);
    const already = placed.get(target);
    if (already === dir) continue;
    if (already) throw new Error(`gateway release: ${target} would hold both ${relative(ROOT, already)} and ${relative(ROOT, dir)}`);
    placed.set(target, dir);
    const pkg = readJson<PackageJson>(join(dir, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true });
  }
  return placed;
}

/** A native package keeps its compiled binaries, not its C++ sources, build intermediates or vendored libraries. */
function copyPackage(from: string, to: string): void {
  const native = existsSync(join(from, 'binding.gyp'));
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel.split(sep)[0] === 'node_modules') return false; // nested packages are placed on their own
      if (!native || rel === '') return true;
      const top = rel.split(sep)[0];
      if (top === 'deps' || top === 'src') return false;
      if (top === 'build') return statSync(src).isDirectory() ? !rel.includes(`${sep}obj`) : src.endsWith('.node');
      return true;
    },
  });
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Builds the gateway and packs it with its production dependencies into `outDir`. */
export async function buildGatewayRelease(outDir: string): Promise<GatewayRelease> {
  const edge = readJson<PackageJson & Record<string, unknown>>(join(ROOT, 'edge/package.json'));
  const root = readJson<PackageJson>(join(ROOT, 'package.json'));
  const folder = `tamky-gateway-${edge.version}`;
  const stage = join(outDir, `.stage-${process.pid}`);
  const dest = join(stage, folder);
  rmSync(stage, { recursive: true, force: true });

  const built = await buildService({ workspace: 'edge', entries: ['src/cli.ts'] }, join(dest, 'dist'));
  const imports = externalImports(built.metafile);
  const closure = dependencyClosure(imports);
  const dependencies: Record<string, string> = {};
  for (const [target, from] of [...closure].sort(([a], [b]) => a.localeCompare(b))) {
    copyPackage(from, join(dest, target));
    dependencies[target.split(sep).join('/')] = readJson<PackageJson>(join(from, 'package.json')).version;
  }
  for (const part of ['profiles', 'examples', 'README.md', 'deploy/tamky-gateway.service', 'deploy/launcher.mjs', 'deploy/launcher.conf'])
    cpSync(join(ROOT, 'edge', part), join(dest, part), { recursive: true });

  const direct = Object.fromEntries([...imports.keys()].sort().map((name) => [name, dependencies[`node_modules/${name}`]!]));
  writeFileSync(
    join(dest, 'package.json'),
    JSON.stringify(
      { name: edge.name, version: edge.version, private: true, type: 'module', description: edge['description'], dependencies: direct },
      null,
      2,
    ) + '\n',
  );
  const manifest: ReleaseManifest = {
    name: 'tamky-gateway',
    version: edge.version,
    entry: 'dist/cli.js',
    platform: process.platform,
    arch: process.arch,
    nodeAbi: process.versions.modules,
    nodeEngines: root.engines?.node ?? '>=20',
    dependencies,
    commit: gitCommit(),
  };
  writeFileSync(join(dest, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

  mkdirSync(outDir, { recursive: true });
  const base = `${folder}-${process.platform}-${process.arch}`;
  const tarball = join(outDir, `${base}.tgz`);
  // Same content, same bytes: sorted entries, no owner or timestamps of this machine.
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', tarball, '-C', stage, folder]);
  rmSync(stage, { recursive: true, force: true });
  const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  const manifestFile = join(outDir, `${base}.json`);
  writeFileSync(manifestFile, JSON.stringify({ ...manifest, tarball: `${base}.tgz`, sha256 }, null, 2) + '\n');
  return { tarball, manifestFile, manifest, sha256 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist/releases') } } });
  const release = await buildGatewayRelease(resolve(values.out));
  const size = statSync(release.tarball).size;
  console.log(
    `${relative(process.cwd(), release.tarball)} (${(size / 1048576).toFixed(1)} MiB, ${Object.keys(release.manifest.dependencies).length} packages)\n` +
      `sha256 ${release.sha256}\nmanifest ${relative(process.cwd(), release.manifestFile)}`,
  );
}
