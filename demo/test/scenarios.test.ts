import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { cityModelSchema } from '@tamky/protocol';
import { createSimDevice, type SimDevice } from '@tamky/firmware-sim';
import { applyScenario, parseScenario, SCENARIOS } from '../src/scenarios';
import { REPO_ROOT } from '../src/compose';

const city = cityModelSchema.parse(parseYaml(readFileSync(join(REPO_ROOT, 'config/tam-ky/city.yaml'), 'utf8')));

function targets() {
  const devices = new Map<string, SimDevice>(
    city.devices.map((d) => [d.id, createSimDevice(d, { city: { lat: city.lat, lon: city.lon, timeZone: city.timeZone } })]),
  );
  const stopped: string[] = [];
  return { city, devices, stopped, stopGateway: async (id: string) => void stopped.push(id) };
}
const faulted = (t: ReturnType<typeof targets>) =>
  [...t.devices.values()]
    .filter((d) => d.faults().length)
    .map(
      (d) =>
        `${d.id}:${d
          .faults()
          .map((f) => f.type)
          .join('+')}`,
    );

describe('demo scenarios', () => {
  it('names the scenarios and refuses a typo', () => {
    expect(SCENARIOS).toEqual(['flood', 'gateway-offline', 'lamp-failure', 'storm']);
    expect(() => parseScenario('flod')).toThrow(/unknown scenario "flod" \(one of flood, gateway-offline, lamp-failure, storm\)/);
  });

  it('flood raises one water station; lamp-failure fails one lamp; gateway-offline stops one gateway', async () => {
    const flood = targets();
    expect(await applyScenario('flood', flood)).toHaveLength(1);
    expect(faulted(flood)).toEqual([`${city.devices.find((d) => d.kind === 'water_level')!.id}:flood`]);
    const lamp = targets();
    await applyScenario('lamp-failure', lamp);
    expect(faulted(lamp)).toEqual([`${city.devices.find((d) => d.kind === 'street_light')!.id}:lamp_failure`]);
    const gw = targets();
    await applyScenario('gateway-offline', gw);
    expect(gw.stopped).toEqual([city.gateways[0]!.id]);
    expect(faulted(gw)).toEqual([]);
  });

  it('storm floods every water station, darkens feeders and takes a gateway off', async () => {
    const t = targets();
    const said = await applyScenario('storm', t);
    const water = city.devices.filter((d) => d.kind === 'water_level');
    expect(faulted(t).filter((f) => f.endsWith(':flood'))).toHaveLength(water.length);
    expect(faulted(t).filter((f) => f.endsWith(':power_outage'))).toHaveLength(3);
    expect(t.stopped).toEqual([city.gateways.at(-1)!.id]);
    expect(said).toHaveLength(3);
  });
});
