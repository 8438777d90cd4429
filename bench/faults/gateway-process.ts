/**
 * One gateway process of the fault harness: `npx tsx bench/faults/gateway-process.ts <spec.json>`.
 * The spec names the city file, the gateways this process runs, their secrets and the broker URL; the
 * harness kills these processes with SIGKILL to simulate a gateway crash and starts them again.
 */
import { readFileSync } from 'node:fs';
import { cityModelSchema } from '@tamky/protocol';
import { closeOnSignals, createLogger } from '@tamky/service-kit';
import { startGatewayGroup } from './gateway-group';

interface Spec {
  cityFile: string;
  gatewayIds: string[];
  mqttUrl: string;
  secrets: Record<string, string>;
  outboxDir: string;
  clockSkewMs?: Record<string, number>;
  clockOffsetFile?: string;
  drainOnly?: boolean;
}

const log = createLogger('fault-gateways');
const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
const city = cityModelSchema.parse(JSON.parse(readFileSync(spec.cityFile, 'utf8')));
const group = await startGatewayGroup({ ...spec, city, logger: log });
log.info({ gateways: spec.gatewayIds.length }, 'gateway group started');
closeOnSignals([group], log);
