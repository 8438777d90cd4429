import {
  fleetReleasesAnswerSchema,
  rolloutActionBodySchema,
  rolloutBodySchema,
  rolloutSchema,
  rolloutsAnswerSchema,
  textAnswer,
} from '@tamky/protocol';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { RolloutError, RolloutNotFound, type Rollouts } from './rollout';

/** A rollout's state forbids the action: 409; no such rollout: 404. */
function answerOf(action: () => unknown) {
  try {
    return action();
  } catch (err) {
    if (err instanceof RolloutError) throw new HttpError(409, 'conflict', err.message);
    if (err instanceof RolloutNotFound) throw notFound(err.message);
    throw err;
  }
}
const rolloutId = (raw: unknown) => {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw notFound(`rollout ${String(raw)}`);
  return id;
};

export function fleetRoutes(rollouts: Rollouts): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/fleet/releases/:file',
      // Gateways have no dashboard account; what they fetch is verified against the signed SHA-256, and the
      // gateway software is open source: nothing here is secret.
      access: 'none',
      wards: 'none',
      summary: 'A gateway release tarball, for gateways installing a signed release',
      request: {},
      answer: textAnswer,
      produces: 'application/gzip',
      handler(req, res) {
        const path = rollouts.releaseFile(String(req.params.file));
        if (!path) throw notFound(`release ${String(req.params.file)}`);
        res.sendFile(path, { headers: { 'content-type': 'application/gzip' } });
        return undefined;
      },
    },
    {
      method: 'get',
      path: '/fleet/releases',
      access: 'admin',
      wards: 'city',
      summary: 'Gateway releases available for a rollout',
      request: {},
      answer: fleetReleasesAnswerSchema,
      handler: () => ({ releases: rollouts.releases() }),
    },
    {
      method: 'get',
      path: '/fleet/rollouts',
      access: 'technician',
      wards: 'city',
      summary: 'Recent staged rollouts of gateway software, with the version each gateway reports',
      request: {},
      answer: rolloutsAnswerSchema,
      handler: () => ({ rollouts: rollouts.list() }),
    },
    {
      method: 'post',
      path: '/fleet/rollouts',
      access: 'admin',
      wards: 'city',
      summary: 'Start a staged rollout: one ward first, the rest once its gateways report the new version (audited)',
      request: { body: rolloutBodySchema },
      answer: rolloutSchema,
      handler(req, res) {
        const body = parseInput(rolloutBodySchema, req.body, 'body');
        return answerOf(() => rollouts.start(actorOf(res), body.version, body.firstWard));
      },
    },
    {
      method: 'post',
      path: '/fleet/rollouts/:id/cancel',
      access: 'admin',
      wards: 'city',
      summary: 'Cancel a running or halted rollout: gateways not yet on the version lose its announcement; those on it keep it (audited)',
      request: { body: rolloutActionBodySchema },
      answer: rolloutSchema,
      handler(req, res) {
        const body = parseInput(rolloutActionBodySchema, req.body ?? {}, 'body');
        return answerOf(() => rollouts.cancel(actorOf(res), rolloutId(req.params.id), body.note));
      },
    },
    {
      method: 'post',
      path: '/fleet/rollouts/:id/resume',
      access: 'admin',
      wards: 'city',
      summary:
        'Resume a halted rollout once its cause is fixed: at the stage it halted in, announced again to gateways not on the version (audited)',
      request: { body: rolloutActionBodySchema },
      answer: rolloutSchema,
      handler(req, res) {
        const body = parseInput(rolloutActionBodySchema, req.body ?? {}, 'body');
        return answerOf(() => rollouts.resume(actorOf(res), rolloutId(req.params.id), body.note));
      },
    },
  ];
}
