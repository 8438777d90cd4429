import { parseArgs } from 'node:util';
import { ConfigError } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { gatewayConfigSchema } from './config';
import { RESTART_EXIT_CODE } from './fleet/update';
import { startGateway, type Gateway } from './gateway';

/** `tsx edge/src/cli.ts --config gw.yaml`: runs one gateway until SIGINT/SIGTERM. */
const log = createLogger('edge');
const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
if (!values.config) {
  console.error('usage: tsx edge/src/cli.ts --config <gateway.yaml>');
  process.exit(2);
}
const file = values.config;
try {
  const config = loadConfigFile(file, gatewayConfigSchema);
  let gateway: Gateway | undefined = undefined;
  // Under the launcher (deploy/launcher.mjs): after installing a release, stop cleanly and let it start the new one.
  const restartIntoNewRelease = () =>
    void gateway
      ?.close()
      .catch((err: Error) => log.error({ err: err.message }, 'close before restart failed'))
      .finally(() => process.exit(RESTART_EXIT_CODE));
  gateway = await startGateway(config, {
    logger: log,
    reloadConfig: () => loadConfigFile(file, gatewayConfigSchema),
    ...(process.env['TAMKY_GATEWAY_ROOT'] || config.fleet?.installRoot ? { restartIntoNewRelease } : {}),
  });
  closeOnSignals([gateway], log);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.details);
    process.exit(2);
  }
  log.fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
