import { z } from 'zod';
import { openApiPath, type RouteSpec } from './route-table';

const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
};

/** The OpenAPI 3.1 document of the route table (core and modules); docs/api.md is its prose twin. */
export function buildOpenApi(
  routes: RouteSpec[],
  extra: Array<{ method: string; path: string; summary: string; produces: string }>,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = openApiPath(r.path);
    const params = [
      ...[...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(r.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ];
    const responses: Record<string, unknown> = {
      '200': {
        description: 'OK',
        content: {
          [r.produces ?? 'application/json']: r.answer
            ? { schema: z.toJSONSchema(r.answer, { io: 'output', unrepresentable: 'any' }) }
            : {},
        },
      },
      '400': { description: 'invalid input', content: { 'application/json': { schema: errorSchema } } },
    };
    if (r.access !== 'none') {
      responses['401'] = { description: 'no session', content: { 'application/json': { schema: errorSchema } } };
      responses['403'] = { description: 'role too low or CSRF failure', content: { 'application/json': { schema: errorSchema } } };
    }
    (paths[path] ??= {})[r.method] = {
      summary: r.summary,
      'x-role': r.access,
      'x-wards': r.wards,
      ...(params.length ? { parameters: params } : {}),
      ...(r.method !== 'get' ? { requestBody: { content: { 'application/json': {} } } } : {}),
      ...(r.token ? { 'x-token-scope': r.token } : {}),
      security: r.access === 'none' ? [] : r.token ? [{ session: [] }, { apiToken: [] }] : [{ session: [] }],
      responses,
    };
  }
  for (const e of extra)
    (paths[e.path] ??= {})[e.method] = {
      summary: e.summary,
      'x-role': 'none',
      'x-wards': 'none',
      security: [],
      responses: { '200': { description: 'OK', content: { [e.produces]: {} } } },
    };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tam Kỳ IOC dashboard API',
      version: '1',
      description: 'See docs/api.md. Times are epoch ms UTC. Non-GET requests need header x-csrf-token.',
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'sid' },
        apiToken: { type: 'http', scheme: 'bearer', description: 'API token created by an admin (docs/api.md)' },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}
