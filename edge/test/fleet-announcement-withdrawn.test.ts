import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, fleetPublicKey, generateFleetKeys } from '@tamky/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { Updater } from '../src/fleet/update';

// A cancelled rollout clears the retained announcement: subscribers receive an empty retained message. The
// gateway must take that as "nothing to install", not as a malformed release it refuses (a refusal would show
// the technician a rollback that never happened and could halt the next rollout).
describe('a withdrawn release announcement', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((r) => rmSync(r, { recursive: true, force: true })));

  const updater = () => {
    const root = mkdtempSync(join(tmpdir(), 'gw-root-'));
    roots.push(root);
    const events: Array<{ type: string; detail: Record<string, unknown> }> = [];
    const restarts: number[] = [];
    const u = new Updater({
      root,
      publicKey: fleetPublicKey(generateFleetKeys().publicKeyPem),
      ca: undefined,
      version: '1.0.0',
      gatewayId: 'gw-an-my-01',
      event: (type, detail) => events.push({ type, detail }),
      requestRestart: () => restarts.push(Date.now()),
      log: createLogger('edge', { level: 'silent' }),
      now: () => Date.now(),
    });
    return { u, root, events, restarts };
  };

  it('is ignored: no refusal, no event, nothing downloaded, no restart', async () => {
    const { u, root, events, restarts } = updater();
    u.onAnnouncement(Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 50));
    expect(u.lastRollback()).toBeNull();
    expect(events).toEqual([]);
    expect(restarts).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('while a payload that is not a release is refused and reported (the same path, so the test above can fail)', async () => {
    const { u, events } = updater();
    u.onAnnouncement(Buffer.from('{"not":"a release"}'));
    await expect.poll(() => u.lastRollback()?.reason ?? '').toMatch(/malformed/);
    expect(events.map((e) => e.type)).toEqual(['release_refused']);
  });
});
