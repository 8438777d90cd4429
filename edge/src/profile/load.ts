import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatConfigError } from '@tamky/protocol';
import { PACKAGE_DIR } from '../package-dir';
import { profileSchema, type Profile } from './schema';

/** The profiles shipped with the package (edge/profiles). */
export const DEFAULT_PROFILES_DIR = join(PACKAGE_DIR, 'profiles');

export class ProfileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** Loads and validates `<dir>/<name>.yaml`; errors name the profile file, field path and problem. */
export function loadProfile(dir: string, name: string): Profile {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ProfileError(name, `invalid profile name "${name}"`);
  const file = join(dir, `${name}.yaml`);
  if (!existsSync(file)) throw new ProfileError(file, `${file}: no such profile`);
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ProfileError(file, `${file}: not valid YAML: ${(err as Error).message}`);
  }
  const result = profileSchema.safeParse(data);
  if (!result.success) throw new ProfileError(file, formatConfigError(file, result.error));
  return result.data;
}

/** Caches profiles per directory for the life of one config validation / gateway start. */
export function profileLoader(dir: string): (name: string) => Profile {
  const cache = new Map<string, Profile>();
  return (name) => {
    let p = cache.get(name);
    if (!p) {
      p = loadProfile(dir, name);
      cache.set(name, p);
    }
    return p;
  };
}
