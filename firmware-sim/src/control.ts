import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { FAULT_TYPES, type Fault } from './faults';
import type { SimDevice } from './sim-device';

const faultSchema = z
  .object({
    type: z.enum(FAULT_TYPES as [Fault['type'], ...Fault['type'][]]),
    pctPerHour: z.number().optional(),
    pct: z.number().min(0).optional(),
    delayMs: z.number().min(0).max(600_000).optional(),
    code: z.number().int().min(1).max(255).optional(),
    lamp: z.number().int().min(1).max(8).optional(),
    riseMinutes: z.number().positive().optional(),
    peakM: z.number().optional(),
    downMs: z.number().min(0).max(3_600_000).optional(),
  })
  .strict();

const pinSchema = z.object({ raw: z.number().int().min(0).max(0xffff) }).strict();

/**
 * Operator/test control of a running simulator over HTTP (loopback by default):
 *   GET    /devices                                → [{id, kind, unitId, faults, readings}]
 *   POST   /devices/:id/faults        {type,…}     → 204   inject a fault (same shape as Fault)
 *   DELETE /devices/:id/faults                     → 204   clear all faults
 *   PUT    /devices/:id/pins/:table/:address {raw} → 204   pin a holding/input register
 *   DELETE /devices/:id/pins/:table/:address       → 204   unpin
 *   GET    /metrics                                → Prometheus text
 */
export async function startControlServer(opts: {
  devices: Map<string, SimDevice>;
  port?: number;
  host?: string;
  registry?: Registry;
}): Promise<{ port: number; close(): Promise<void> }> {
  const reply = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) return void res.writeHead(status).end();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    let text = '';
    for await (const chunk of req) {
      text += String(chunk);
      if (text.length > 10_000) throw new Error('body too large');
    }
    return text ? JSON.parse(text) : {};
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (req.method === 'GET' && url.pathname === '/metrics' && opts.registry) {
        return void res.writeHead(200, { 'content-type': opts.registry.contentType }).end(await opts.registry.metrics());
      }
      if (req.method === 'GET' && url.pathname === '/devices') {
        return reply(
          res,
          200,
          [...opts.devices.values()].map((d) => ({ id: d.id, kind: d.kind, unitId: d.unitId, faults: d.faults(), readings: d.readings() })),
        );
      }
      if (parts[0] !== 'devices' || !parts[1]) return reply(res, 404, { error: 'not found' });
      const device = opts.devices.get(parts[1]);
      if (!device) return reply(res, 404, { error: `unknown device "${parts[1]}"` });
      if (parts[2] === 'faults' && parts.length === 3) {
        if (req.method === 'DELETE') return reply(res, 204, device.clearFaults());
        if (req.method === 'POST') {
          const parsed = faultSchema.safeParse(await readJson(req));
          if (!parsed.success)
            return reply(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
          device.injectFault(parsed.data as Fault);
          return reply(res, 204);
        }
      }
      if (parts[2] === 'pins' && parts.length === 5) {
        const table = parts[3];
        const address = Number(parts[4]);
        if ((table !== 'holding' && table !== 'input') || !Number.isInteger(address) || address < 0 || address > 0xffff)
          return reply(res, 400, { error: 'pins/:table/:address with table holding|input and address 0..65535' });
        if (req.method === 'DELETE') return reply(res, 204, device.unpin(table, address));
        if (req.method === 'PUT') {
          const parsed = pinSchema.safeParse(await readJson(req));
          if (!parsed.success) return reply(res, 400, { error: 'body must be {"raw": 0..65535}' });
          device.pin(table, address, parsed.data.raw);
          return reply(res, 204);
        }
      }
      reply(res, 405, { error: 'method not allowed' });
    } catch (err) {
      reply(res, 400, { error: (err as Error).message });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
