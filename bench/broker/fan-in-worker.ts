/**
 * One publishing process of bench/broker/fan-in.ts (HARNESS_PROCESSES > 1), so the harness is not the limit:
 * connects its gateways, says `ready`, publishes its share when it reads `go` on stdin, says `done`.
 *
 *   npx tsx bench/broker/fan-in-worker.ts '<json spec>'
 */
import { createInterface } from 'node:readline';
import { RawMqttClient } from './raw-mqtt';

interface Spec {
  port: number;
  gateways: Array<{ id: string; clientId: string; username?: string; password?: string }>;
  qos: 0 | 1;
  perGateway: number;
  window: number;
  payload: string;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const clients: RawMqttClient[] = [];
for (let i = 0; i < spec.gateways.length; i += 20)
  clients.push(
    ...(await Promise.all(
      spec.gateways
        .slice(i, i + 20)
        .map((g) => RawMqttClient.connect(spec.port, { clientId: g.clientId, username: g.username, password: g.password })),
    )),
  );
const body = Buffer.from(spec.payload);

async function publishAll(): Promise<void> {
  await Promise.all(
    clients.map(async (gw, g) => {
      const send = gw.publisher(`city/v1/gw/${spec.gateways[g]!.id}/telemetry`, spec.qos);
      if (spec.qos === 0) {
        for (let i = 0; i < spec.perGateway; i++) if (!send(body)) await gw.drained();
        return;
      }
      let inflight = 0;
      let sent = 0;
      await new Promise<void>((resolveAll) => {
        const pump = () => {
          while (inflight < spec.window && sent < spec.perGateway) {
            inflight++;
            sent++;
            send(body);
          }
          if (sent === spec.perGateway && inflight === 0) resolveAll();
        };
        gw.onPuback = () => {
          inflight--;
          pump();
        };
        pump();
      });
    }),
  );
}

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line !== 'go') break;
  await publishAll();
  process.stdout.write('done\n');
}
for (const c of clients) c.close();
process.exit(0);
