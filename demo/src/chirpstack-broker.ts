import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

/**
 * Stands in for ChirpStack's own MQTT broker (a Mosquitto in a real deployment) in the demo: a plain aedes
 * on loopback, without the city broker's identities and ACLs, which are about our topics, not ChirpStack's.
 */
export async function startChirpstackBroker(host: string): Promise<{ url: string; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://${host}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
