import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@tamky/test-support';
import { assertTestedVersions, TESTED_VERSIONS } from '../src/aedes-adapter';
import { startTestBroker } from './helpers';

/** A fake install: `<dir>/node_modules/<pkg>/package.json` per entry, and a module URL inside `<dir>/src`. */
function fakeInstall(versions: Record<string, string>): string {
  const dir = tempDir('pinned');
  for (const [pkg, version] of Object.entries(versions)) {
    mkdirSync(join(dir, 'node_modules', pkg), { recursive: true });
    writeFileSync(join(dir, 'node_modules', pkg, 'package.json'), JSON.stringify({ name: pkg, version }));
  }
  mkdirSync(join(dir, 'src'), { recursive: true });
  return pathToFileURL(join(dir, 'src', 'broker.js')).href;
}

describe('aedes adapter: exact versions', () => {
  it('pins in package.json exactly the versions the adapter was tested with, and those are installed', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.aedes).toBe(TESTED_VERSIONS.aedes);
    expect(pkg.dependencies['aedes-persistence-redis']).toBe(TESTED_VERSIONS['aedes-persistence-redis']);
    expect(() => assertTestedVersions()).not.toThrow();
    const broker = await startTestBroker();
    await broker.close();
  });

  it('refuses another aedes version, or another mqtt-packet under aedes, with an error saying what to do', () => {
    expect(() => assertTestedVersions(fakeInstall({ ...TESTED_VERSIONS, aedes: '1.3.0' }))).toThrow(
      /aedes 1\.3\.0 is installed, but broker\/src\/aedes-adapter\.ts .* tested with aedes 1\.2\.0 only: install aedes@1\.2\.0/,
    );
    expect(() => assertTestedVersions(fakeInstall({ ...TESTED_VERSIONS, 'mqtt-packet': '9.1.0' }))).toThrow(
      /mqtt-packet 9\.1\.0 is installed/,
    );
    expect(() =>
      assertTestedVersions(fakeInstall({ aedes: TESTED_VERSIONS.aedes, 'mqtt-packet': TESTED_VERSIONS['mqtt-packet'] })),
    ).toThrow(/mqemitter \(not found\)/);
    expect(() => assertTestedVersions(fakeInstall({ ...TESTED_VERSIONS, 'aedes-persistence-redis': '12.1.0' }))).toThrow(
      /aedes-persistence-redis 12\.1\.0 is installed/,
    );
    expect(() => assertTestedVersions(fakeInstall({ ...TESTED_VERSIONS }))).not.toThrow();
  });
});
