import type { CityModel } from '@tamky/protocol';
import type { SimDevice } from '@tamky/firmware-sim';

/** Faults a newcomer can inject into the simulated city to see the operations centre react. */
export const SCENARIOS = ['flood', 'gateway-offline', 'lamp-failure', 'storm'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export function parseScenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s === name);
  if (!found) throw new Error(`unknown scenario "${name}" (one of ${SCENARIOS.join(', ')})`);
  return found;
}

export interface ScenarioTargets {
  city: CityModel;
  devices: Map<string, SimDevice>;
  /** Takes a gateway off the network as a power cut would. */
  stopGateway(id: string): Promise<void>;
}

/**
 * Applies a scenario to the running simulation and says what it did. The first ward of the city with the
 * right equipment is hit; `storm` hits everything a typhoon night would: rivers rise in every ward, a
 * gateway loses power, feeders go dark.
 */
export async function applyScenario(scenario: Scenario, t: ScenarioTargets): Promise<string[]> {
  const of = (kind: string) => t.city.devices.filter((d) => d.kind === kind);
  const done: string[] = [];
  const flood = (ids: string[]) => {
    for (const id of ids) t.devices.get(id)?.injectFault({ type: 'flood', riseMinutes: 10 });
    done.push(`flood rising at ${ids.join(', ')} (alarm level 3 within 10 simulated minutes)`);
  };
  const offline = async (id: string) => {
    await t.stopGateway(id);
    done.push(`gateway ${id} offline`);
  };
  switch (scenario) {
    case 'flood':
      flood(
        of('water_level')
          .slice(0, 1)
          .map((d) => d.id),
      );
      break;
    case 'gateway-offline': {
      const gw = t.city.gateways[0];
      if (gw) await offline(gw.id);
      break;
    }
    case 'lamp-failure': {
      const light = of('street_light')[0];
      if (light) {
        t.devices.get(light.id)?.injectFault({ type: 'lamp_failure', lamp: 2 });
        done.push(`lamp 2 failed at ${light.id}`);
      }
      break;
    }
    case 'storm': {
      flood(of('water_level').map((d) => d.id));
      const lights = of('street_light').slice(0, 3);
      for (const l of lights) t.devices.get(l.id)?.injectFault({ type: 'power_outage' });
      if (lights.length) done.push(`power outage on ${lights.map((l) => l.id).join(', ')}`);
      const gw = t.city.gateways.at(-1);
      if (gw) await offline(gw.id);
      break;
    }
  }
  return done;
}
