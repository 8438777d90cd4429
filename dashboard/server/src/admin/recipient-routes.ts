import { directoryAnswerSchema, directoryBodySchema } from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import type { DirectoryData } from '../notify/directory';

/** Recipient ids added, removed and changed, for the audit row (addresses are not repeated there). */
function diffRecipients(before: DirectoryData | null, after: DirectoryData) {
  const old = new Map((before?.recipients ?? []).map((r) => [r.id, JSON.stringify(r)]));
  const now = new Map(after.recipients.map((r) => [r.id, JSON.stringify(r)]));
  return {
    added: [...now.keys()].filter((id) => !old.has(id)),
    removed: [...old.keys()].filter((id) => !now.has(id)),
    changed: [...now.entries()].filter(([id, json]) => old.has(id) && old.get(id) !== json).map(([id]) => id),
    escalationChanged: JSON.stringify([before?.groups, before?.routes]) !== JSON.stringify([after.groups, after.routes]),
  };
}

/** Notification recipients and escalation for admins: versioned, validated like the policy file, audited, live. */
export function recipientRoutes(core: Core): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/admin/recipients',
      wards: 'city',
      access: 'admin',
      summary:
        'Notification recipients, on-call groups and escalation routes: {configured, version, recipients, groups, routes, channels, updatedBy, updatedAt}',
      request: {},
      answer: directoryAnswerSchema,
      handler: () => core.notifyDirectory.current(),
    },
    {
      method: 'put',
      path: '/admin/recipients',
      wards: 'city',
      access: 'admin',
      summary:
        'Replace recipients/groups/routes ({baseVersion?, recipients, groups?, routes?}; phones normalised to 84…) → new version, in effect at once; 400 {issues:[{path,message}]}; 409 stale or notifications not configured',
      request: { body: directoryBodySchema },
      answer: directoryAnswerSchema,
      handler(req, res) {
        const body = parseInput(directoryBodySchema, req.body, 'body');
        const current = core.notifyDirectory.current();
        const user = actorOf(res);
        const { view, previous } = core.notifyDirectory.replace(
          body.baseVersion,
          { recipients: body.recipients, groups: body.groups ?? current.groups, routes: body.routes ?? current.routes },
          user,
        );
        core.audit.write(user, 'recipients.update', { version: view.version, ...diffRecipients(previous, view) });
        return view;
      },
    },
  ];
}
