import { z } from 'zod';
import { errorAnswerSchema, noAnswer } from '@tamky/protocol';
import { openApiPath, type RouteSpec } from './route-table';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
};
const errorSchema = jsonSchema(errorAnswerSchema, 'output');
/** A query parameter is required when leaving it out does not parse (no default, not optional). */
const required = (schema: z.ZodType) => !schema.safeParse(undefined).success;

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
      ...Object.entries(r.request.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: required(schema),
        schema: jsonSchema(schema, 'input'),
      })),
    ];
    const responses: Record<string, unknown> = {
      ...(r.answer === noAnswer
        ? { '204': { description: 'No content' } }
        : { '200': { description: 'OK', content: { [r.produces ?? 'application/json']: { schema: jsonSchema(r.answer, 'output') } } } }),
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
      ...(r.request.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.request.body, 'input') } } } }
        : {}),
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
