import { actorOf, HttpError, type DashboardModule, type RouteSpec } from '@tamky/dashboard-server';
import { parseScenario, SCENARIOS, type Scenario } from './scenarios';
import { demoControlSchema, demoInjectionSchema } from '@tamky/protocol';

export interface InjectedScenario {
  scenario: Scenario;
  at: number;
  by: string;
  what: string[];
}

/**
 * The simulated city's control for admins, mounted only when the dashboard runs the demo: a fault is
 * injected from the UI as with `npm start -- --scenario …` (same code), and audited.
 */
export function createDemoModule(): DashboardModule & { bind(inject: (s: Scenario) => Promise<string[]>): void } {
  let inject: ((s: Scenario) => Promise<string[]>) | undefined;
  const injected: InjectedScenario[] = [];
  return {
    name: 'demo',
    bind(fn) {
      inject = fn;
    },
    routes(ctx): RouteSpec[] {
      return [
        {
          method: 'get',
          path: '/demo',
          access: 'admin',
          wards: 'city',
          summary:
            'Simulated city only: the faults an admin can inject and those injected so far ({scenarios, injected:[{scenario, at, by, what}]})',
          request: {},
          answer: demoControlSchema,
          handler: () => ({ scenarios: SCENARIOS, ready: inject !== undefined, injected }),
        },
        {
          method: 'post',
          path: '/demo/scenarios/:name',
          access: 'admin',
          wards: 'city',
          summary: 'Simulated city only: injects a fault (flood | gateway-offline | lamp-failure | storm) → {scenario, at, by, what}',
          request: {},
          answer: demoInjectionSchema,
          async handler(req, res) {
            let scenario: Scenario;
            try {
              scenario = parseScenario(String(req.params.name));
            } catch (err) {
              throw new HttpError(400, 'bad_request', (err as Error).message);
            }
            if (!inject) throw new HttpError(503, 'not_ready', 'the simulated city is still starting');
            const by = actorOf(res);
            const what = await inject(scenario);
            const entry = { scenario, at: ctx.now(), by, what };
            injected.push(entry);
            ctx.audit(by, 'demo.scenario', { scenario, what });
            return entry;
          },
        },
      ];
    },
  };
}
