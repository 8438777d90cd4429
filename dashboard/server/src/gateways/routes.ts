import {
  commandAnswerSchema,
  commandBodySchema,
  commandSchema,
  commandSentSchema,
  commandStatus,
  deviceInfoSchema,
  gatewayDetailSchema,
  gatewaysAnswerSchema,
  topics,
} from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { inScope, wardOfThing, wardScopeOf } from '../readings/ward-scope';

const param = (v: unknown) => String(v);

/** What the screens show for a command: the device's answer, still waiting, or no answer within the stated time. */
function commandTruth(core: Core, c: { sentAt: number; result: Parameters<typeof commandStatus>[0] }) {
  const timeoutMs = core.config.commands.timeoutMs;
  return { status: commandStatus(c.result, c.sentAt, timeoutMs, core.now()), timeoutMs };
}

export function gatewayRoutes(core: Core): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/gateways',
      wards: 'filter',
      access: 'viewer',
      summary: 'All gateways with state (online/offline/unknown), lastSeen and latest health',
      request: {},
      answer: gatewaysAnswerSchema,
      handler(_req, res) {
        const wards = wardScopeOf(res);
        return { gateways: core.gateways.list().filter((g) => inScope(wards, g.ward)) };
      },
    },
    {
      method: 'get',
      path: '/gateways/:id',
      wards: 'filter',
      access: 'viewer',
      summary: 'One gateway, plus its recent edge events and commands',
      request: {},
      answer: gatewayDetailSchema,
      handler(req, res) {
        const id = param(req.params.id);
        const g = core.gateways.get(id);
        // Outside the caller's wards a gateway is as unknown as a typo (no probing for ids).
        if (!g || !inScope(wardScopeOf(res), g.ward)) throw notFound(`gateway ${id}`);
        const s = res.locals.session as { user: { role: string } };
        const technician = s.user.role === 'technician' || s.user.role === 'admin';
        const withStatus = (c: ReturnType<typeof core.commands.recent>[number]) => ({ ...c, ...commandTruth(core, c) });
        return {
          ...g,
          events: core.gateways.events(id, 50),
          ...(technician ? { commands: core.commands.recent(id, 20).map(withStatus) } : {}),
        };
      },
    },
    {
      method: 'post',
      path: '/gateways/:id/commands',
      wards: 'filter',
      access: 'technician',
      summary: 'Send a protocol Command (without id) to the gateway over MQTT QoS 1 → 202 {id}',
      request: { body: commandBodySchema },
      answer: commandSentSchema,
      async handler(req, res) {
        const gateway = param(req.params.id);
        const g = core.gateways.get(gateway);
        if (!g || !inScope(wardScopeOf(res), g.ward)) throw notFound(`gateway ${gateway}`);
        if (!req.body || typeof req.body !== 'object' || Array.isArray(req.body))
          throw new HttpError(400, 'bad_request', 'body must be a Command object');
        const command = parseInput(commandSchema, { ...req.body, id: core.commands.newId() }, 'command');
        const user = actorOf(res);
        const record = core.commands.record(gateway, command, user);
        core.audit.write(user, 'gateway.command', { gateway, command });
        // Recorded before publishing: a result can never arrive for a command we have no row for.
        await core.mqttPublish(topics.command(gateway), command, { qos: 1 });
        res.status(202);
        return { id: record.id, timeoutMs: core.config.commands.timeoutMs };
      },
    },
    {
      method: 'get',
      path: '/commands/:id',
      wards: 'filter',
      access: 'technician',
      summary:
        'A command sent to a gateway, its result (null until the gateway answers) and status: pending, ok, failed, or timeout once commands.timeoutMs passed unanswered',
      request: {},
      answer: commandAnswerSchema,
      handler(req, res) {
        const c = core.commands.get(param(req.params.id));
        if (!c || !inScope(wardScopeOf(res), wardOfThing(core.city, 'gateway', c.gateway))) throw notFound('command');
        return {
          id: c.id,
          gateway: c.gateway,
          command: c.command,
          sentAt: c.sentAt,
          user: c.user,
          result: c.result,
          ...commandTruth(core, c),
        };
      },
    },
    {
      method: 'get',
      path: '/devices/:id',
      wards: 'filter',
      access: 'viewer',
      summary: 'A device from the registry with its latest reading and the health its gateway reports',
      request: {},
      answer: deviceInfoSchema,
      async handler(req, res) {
        const id = param(req.params.id);
        const device = core.city.devices.find((d) => d.id === id);
        if (!device || !inScope(wardScopeOf(res), device.ward)) throw notFound(`device ${id}`);
        const [latest] = await core.store.latest({ devices: [id], kind: device.kind });
        return { device, latest: latest ?? null, health: core.gateways.deviceHealth(device.gateway, id) };
      },
    },
  ];
}
