import { describe, expect, it } from 'vitest';
import { mayPublish, maySubscribe, type Identity } from '../src/index';

describe('the lorawan service role', () => {
  const connector: Identity = { kind: 'service', username: 'lorawan', role: 'lorawan' };

  it('may read the retained registry and rules, nothing else', () => {
    expect(maySubscribe(connector, 'city/v1/config/registry')).toBeUndefined();
    expect(maySubscribe(connector, 'city/v1/gw/+/telemetry')).toBe('not-allowed-topic');
    expect(maySubscribe(connector, 'city/v1/#')).toBe('not-allowed-topic');
  });

  it('may publish nothing (it publishes readings as its gateway)', () => {
    expect(mayPublish(connector, 'city/v1/config/registry', true)).toBe('not-allowed-topic');
    expect(mayPublish(connector, 'city/v1/gw/lns-tam-ky/telemetry', false)).toBe('not-allowed-topic');
  });
});
