import { describe, expect, it } from 'vitest';
import { topics } from '@tamky/protocol';
import { mayPublish, maySubscribe, type Identity } from '../src/index';

/**
 * System health reports raise system alarms, so who may speak on them is narrow: the broker publishes its own
 * from inside (no client), the dashboard only as `dashboard`, ingest only on its own topic (for the dashboard to
 * notice when it stops), nobody else; ingest (which judges them) and the dashboard (which watches ingest) subscribe.
 */
const gwA: Identity = { kind: 'gateway', gatewayId: 'gw-a', prefix: 'city/v1/gw/gw-a/' };
const ingest: Identity = { kind: 'service', username: 'ingest', role: 'ingest' };
const dashboard: Identity = { kind: 'service', username: 'dashboard', role: 'dashboard' };
const lorawan: Identity = { kind: 'service', username: 'lorawan', role: 'lorawan' };

describe('system health topics', () => {
  it('the dashboard and ingest publish only their own reports, never retained', () => {
    expect(mayPublish(ingest, topics.ingestHealth(), false)).toBeUndefined();
    expect(mayPublish(ingest, topics.ingestHealth(), true)).toBe('retain-not-allowed');
    expect(mayPublish(ingest, topics.systemHealth('ingest-1'), false)).toBe('not-allowed-topic');
    for (const who of [gwA, dashboard, lorawan]) expect(mayPublish(who, topics.ingestHealth(), false)).toBe('not-allowed-topic');
    expect(mayPublish(dashboard, topics.systemHealth('dashboard'), false)).toBeUndefined();
    expect(mayPublish(dashboard, topics.systemHealth('dashboard'), true)).toBe('retain-not-allowed');
    expect(mayPublish(dashboard, topics.systemHealth('broker'), false)).toBe('not-allowed-topic');
    expect(mayPublish(dashboard, topics.systemHealth('ingest-1'), false)).toBe('not-allowed-topic');
    for (const who of [gwA, ingest, lorawan]) {
      expect(mayPublish(who, topics.systemHealth('broker'), false)).toBe('not-allowed-topic');
      expect(mayPublish(who, topics.systemHealth('dashboard'), false)).toBe('not-allowed-topic');
    }
  });

  it('ingest and the dashboard subscribe to every service report; gateways to none', () => {
    expect(maySubscribe(ingest, 'city/v1/system/+/health')).toBeUndefined();
    expect(maySubscribe(dashboard, 'city/v1/system/+/health')).toBeUndefined();
    expect(maySubscribe(dashboard, 'city/v1/system/#')).toBe('not-allowed-topic');
    expect(maySubscribe(ingest, 'city/v1/system/#')).toBe('not-allowed-topic');
    expect(maySubscribe(gwA, 'city/v1/system/+/health')).toBe('not-allowed-topic');
    expect(maySubscribe(lorawan, 'city/v1/system/+/health')).toBe('not-allowed-topic');
  });
});
