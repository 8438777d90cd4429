import { registryAnswerSchema, registryBodySchema, registryDeleteQuerySchema, registryDeviceBodySchema } from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import type { RegistryStore, RegistryVersion } from './registry-store';
import { diffDevices } from './validate-city';

/**
 * The device registry for admins: wards, gateways and devices, versioned; every change is audited and
 * published retained on config/registry (by the server's change listener) for ingest and the gateways.
 */
export function registryRoutes(core: Core, registry: RegistryStore): RouteSpec[] {
  const save = (
    res: Parameters<RouteSpec['handler']>[1],
    base: number | undefined,
    city: unknown,
    what: Record<string, unknown>,
  ): RegistryVersion => {
    const user = actorOf(res);
    const before = registry.current();
    const next = registry.replace(base, city, user);
    core.audit.write(user, 'registry.update', { version: next.version, ...what, ...diffDevices(before.city, next.city) });
    return next;
  };
  return [
    {
      method: 'get',
      path: '/admin/registry',
      wards: 'city',
      access: 'admin',
      summary: 'The device registry (city model: wards, gateways, devices) with its version: {version, city, updatedBy, updatedAt}',
      request: {},
      answer: registryAnswerSchema,
      handler: () => registry.current(),
    },
    {
      method: 'put',
      path: '/admin/registry',
      wards: 'city',
      access: 'admin',
      summary: 'Replace the registry ({baseVersion?, city}) → new version; 400 {issues:[{path,message}]}; 409 when baseVersion is stale',
      request: { body: registryBodySchema },
      answer: registryAnswerSchema,
      handler(req, res) {
        const body = parseInput(registryBodySchema, req.body, 'body');
        return save(res, body.baseVersion, body.city, {});
      },
    },
    {
      method: 'put',
      path: '/admin/registry/devices/:id',
      wards: 'city',
      access: 'admin',
      summary: 'Add or change one device ({baseVersion?, device}; move it by changing ward/gateway) → new version; 400 {issues}; 409 stale',
      request: { body: registryDeviceBodySchema },
      answer: registryAnswerSchema,
      handler(req, res) {
        const id = String(req.params.id);
        const body = parseInput(registryDeviceBodySchema, req.body, 'body');
        if (body.device.id !== undefined && body.device.id !== id)
          throw new HttpError(400, 'bad_request', `device.id "${String(body.device.id)}" does not match the path (${id})`);
        const city = registry.current().city;
        const device = { ...body.device, id };
        const index = city.devices.findIndex((d) => d.id === id);
        const devices = index >= 0 ? city.devices.map((d, i) => (i === index ? device : d)) : [...city.devices, device];
        try {
          return save(res, body.baseVersion, { ...city, devices }, { device: id, op: index >= 0 ? 'change' : 'add' });
        } catch (err) {
          // Issues about this device are reported at "device.<field>" so the form can place them.
          const at = index >= 0 ? index : devices.length - 1;
          if (err instanceof HttpError && Array.isArray(err.extra?.issues)) {
            const issues = (err.extra.issues as Array<{ path: string; message: string }>).map((i) => ({
              ...i,
              path: i.path.startsWith(`devices.${at}.`) ? `device.${i.path.slice(`devices.${at}.`.length)}` : i.path,
            }));
            throw new HttpError(400, err.code, `invalid device: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
          }
          throw err;
        }
      },
    },
    {
      method: 'delete',
      path: '/admin/registry/devices/:id',
      wards: 'city',
      access: 'admin',
      summary: 'Remove one device (?baseVersion=) → new version; 404 unknown; 409 stale',
      request: { query: registryDeleteQuerySchema },
      answer: registryAnswerSchema,
      handler(req, res) {
        const id = String(req.params.id);
        const q = parseInput(registryDeleteQuerySchema, req.query, 'query');
        const city = registry.current().city;
        if (!city.devices.some((d) => d.id === id)) throw notFound(`device ${id}`);
        return save(res, q.baseVersion, { ...city, devices: city.devices.filter((d) => d.id !== id) }, { device: id, op: 'remove' });
      },
    },
  ];
}
