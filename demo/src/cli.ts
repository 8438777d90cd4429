import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { closeOnSignals, createLogger } from '@tamky/service-kit';
import { REPO_ROOT, startCityDemo } from './compose';
import { parseScenario, SCENARIOS } from './scenarios';

/** `npm start`: broker, ingest, dashboard and a simulated Tam Kỳ in one terminal. */
const { values } = parseArgs({
  options: {
    city: { type: 'string' },
    data: { type: 'string', default: join(REPO_ROOT, 'data/demo') },
    host: { type: 'string', default: '127.0.0.1' },
    'mqtt-port': { type: 'string', default: '1883' },
    'http-port': { type: 'string', default: '8080' },
    speed: { type: 'string', default: '1' },
    /** Simulated history written on the first start, so the 24 h and 7 d charts are not empty. */
    'history-days': { type: 'string', default: '7' },
    /** Faults injected once the city runs: flood | gateway-offline | lamp-failure | storm. */
    scenario: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    [
      'npm start -- [options]: broker, ingest, dashboard and a simulated Tam Kỳ in one terminal',
      '  --city FILE          city model (default config/tam-ky/city.yaml)',
      '  --data DIR           where the store and state live (default data/demo)',
      '  --host H             address to listen on (default 127.0.0.1)',
      '  --mqtt-port N        MQTT port (default 1883)',
      '  --http-port N        dashboard port (default 8080)',
      '  --speed X            simulated time runs X times faster (default 1)',
      '  --history-days N     simulated history written on a first start (default 7; 0: none)',
      `  --scenario NAME      inject a fault once the city runs: ${SCENARIOS.join(' | ')}`,
      '',
    ].join('\n'),
  );
  process.exit(0);
}
// Checked before anything starts: a typo must not cost a minute of start-up.
const scenario = values.scenario === undefined ? undefined : parseScenario(values.scenario);

const log = createLogger('demo', { level: process.env.LOG_LEVEL ?? 'warn' });
process.stdout.write(`Starting (a first start writes ${values['history-days']} days of simulated history first)…\n`);
const demo = await startCityDemo({
  cityFile: values.city,
  dataDir: values.data!,
  host: values.host,
  mqttPort: Number(values['mqtt-port']),
  httpPort: Number(values['http-port']),
  speed: Number(values.speed),
  historyDays: Number(values['history-days']),
  logger: log,
});
const { dashboard, mqtt } = demo.urls;
const line = '─'.repeat(72);
process.stdout.write(
  [
    line,
    ` ${demo.city.name}: ${demo.city.wards.length} wards, ${demo.city.gateways.length} gateways, ${demo.city.devices.length} simulated devices`,
    ` Operator:   ${dashboard}/  sign in as operator / ${demo.credentials.users.operator} (acknowledge alarms, see everything)`,
    ` Wall:       ${dashboard}/wall?kiosk=${demo.credentials.kioskToken}  (read-only wall screen, no sign-in)`,
    ` Residents:  ${dashboard}/public  (the public page, no sign-in; widget: /public/embed?ward=an-my)`,
    ` Other sign-ins: ${(['admin', 'technician', 'viewer'] as const).map((u) => `${u} / ${demo.credentials.users[u]}`).join('   ')}`,
    ` Faults:     npm start -- --scenario ${SCENARIOS.join('|')}`,
    ` MQTT:       ${mqtt} (anonymous read-only tools from loopback: mosquitto_sub -p ${new URL(mqtt).port} -t 'city/v1/#' -v)`,
    ` Data:       ${values.data} (credentials in demo-credentials.json)   Ctrl-C stops everything.`,
    line,
    '',
  ].join('\n'),
);
if (scenario) for (const what of await demo.scenario(scenario)) process.stdout.write(`Scenario ${scenario}: ${what}\n`);
closeOnSignals(
  [
    {
      close: async () => {
        process.stdout.write('Stopping gateways, simulator, dashboard, ingest, store and broker…\n');
        await demo.close();
        process.stdout.write('Stopped.\n');
      },
    },
  ],
  log,
);
