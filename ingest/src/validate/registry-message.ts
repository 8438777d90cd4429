import { cityModelSchema, type CityModel } from '@tamky/protocol';

export type RegistryMessage = { kind: 'city'; city: CityModel } | { kind: 'cleared' } | { kind: 'invalid'; problem: string };

/**
 * The retained config/registry message the dashboard publishes (the city model as JSON), checked against
 * protocol's city model schema. An empty payload is the retained message being cleared, not a city without
 * devices: ingest keeps what it has.
 */
export function parseRegistryMessage(payload: Buffer | string): RegistryMessage {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (text.trim() === '') return { kind: 'cleared' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', problem: `not JSON: ${(err as Error).message}` };
  }
  const parsed = cityModelSchema.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { kind: 'invalid', problem };
  }
  return { kind: 'city', city: parsed.data };
}
