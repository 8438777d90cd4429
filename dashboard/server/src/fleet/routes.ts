import { fleetReleasesAnswerSchema, rolloutBodySchema, rolloutSchema, rolloutsAnswerSchema, textAnswer } from '@tamky/protocol';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { RolloutError, type Rollouts } from './rollout';

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
        try {
          return rollouts.start(actorOf(res), body.version, body.firstWard);
        } catch (err) {
          if (err instanceof RolloutError) throw new HttpError(409, 'conflict', err.message);
          throw err;
        }
      },
    },
  ];
}
