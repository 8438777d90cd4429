import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';

/** Each service owns a registry (so several can share one process) with the default process metrics. */
export function createMetricsRegistry(service: string, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Serves `/metrics` (Prometheus text) for services that have no HTTP server of their own. */
export async function serveMetrics(
  registries: Registry[],
  port: number,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  // Registry.merge drops each registry's default labels (the `service` label), so one registry is served as is.
  const merged = registries.length === 1 ? registries[0]! : Registry.merge(registries);
  const server: Server = createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    try {
      res.writeHead(200, { 'content-type': merged.contentType }).end(await merged.metrics());
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
