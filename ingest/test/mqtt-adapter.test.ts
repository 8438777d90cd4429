import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@tamky/test-support';
import { assertTestedMqttVersion, TESTED_MQTT_VERSION } from '../src/consumer/mqtt-adapter';

describe('mqtt.js adapter: exact version', () => {
  it('package.json pins the version the adapter was tested with, and it is the one installed', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.mqtt).toBe(TESTED_MQTT_VERSION);
    expect(() => assertTestedMqttVersion()).not.toThrow();
  });

  it('refuses another mqtt.js version with an error saying what to do', () => {
    const dir = tempDir('pinned-mqtt');
    mkdirSync(join(dir, 'node_modules', 'mqtt'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'mqtt', 'package.json'), JSON.stringify({ name: 'mqtt', version: '5.17.0' }));
    const from = pathToFileURL(join(dir, 'src', 'service.js')).href;
    expect(() => assertTestedMqttVersion(from)).toThrow(
      /mqtt 5\.17\.0 is installed, but ingest\/src\/consumer\/mqtt-adapter\.ts .* install mqtt@5\.16\.0/,
    );
  });
});
