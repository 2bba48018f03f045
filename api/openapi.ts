// The OpenAPI 3.1 document, built from the route table (openapi-routes.ts) and the zod schemas
// that validate requests: one source of truth. Named schemas (.meta({id})) become components.
import { z } from 'zod';
import { ApiErrorBody } from './openapi-responses.js';
import { API_ROUTES, type ApiRoute, type Auth, type Body } from './openapi-routes.js';

type Json = Record<string, unknown>;

const SECURITY: Record<Exclude<Auth, 'none'>, { scheme: string; description: string }> = {
  customer: { scheme: 'customerKey', description: 'A customer API key (bsk_…), from an operator' },
  operator: { scheme: 'operatorToken', description: 'The operator token (OPERATOR_TOKEN)' },
  node: { scheme: 'nodeToken', description: "A storage node's own token (from registration); a node acts only for itself (403 otherwise)" },
  join: { scheme: 'joinToken', description: "The fleet's join token (npx blackstart join-token)" },
};

const ERROR_TEXT: Record<number, string> = {
  400: 'Bad input; nothing changed',
  401: 'Missing or unknown credentials',
  403: 'Not allowed (another node, or a quota)',
  404: 'Not found (or not yours)',
  409: 'Not now: the answer says why',
  410: 'Gone (deleted or archived)',
  413: 'Body too large',
  429: 'Over a bound; retry after Retry-After',
  503: 'No room or a dependency is down; retry',
};

/** Collects every schema's $defs as components and points its refs at them. */
class SchemaSink {
  readonly components: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
    const { $schema: _drop, $defs, ...rest } = json;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) this.components[id] = this.rewrite(def);
    const { id, ...body } = rest as Json & { id?: string };
    if (typeof id === 'string') {
      this.components[id] = this.rewrite(body);
      return { $ref: `#/components/schemas/${id}` };
    }
    return this.rewrite(body);
  }

  private rewrite(schema: Json): Json {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
  }
}

/** Express `/v1/volumes/:id` → OpenAPI `/v1/volumes/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

function content(body: Body, sink: SchemaSink, io: 'input' | 'output'): Json {
  if (body === 'binary')
    return { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
  if (body === 'html') return { 'text/html': { schema: { type: 'string' } } };
  if (body === 'text') return { 'text/plain': { schema: { type: 'string' } } };
  if (body === 'json') return { 'application/json': { schema: { type: 'object' } } };
  return { 'application/json': { schema: sink.convert(body, io) } };
}

function parameters(r: ApiRoute, sink: SchemaSink): Json[] {
  const path = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  if (!r.query) return path;
  const q = sink.convert(r.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
  const query = Object.entries(q.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: (q.required ?? []).includes(name),
    schema,
  }));
  return [...path, ...query];
}

function responses(r: ApiRoute, sink: SchemaSink): Json {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const out: Json = { [String(r.ok.status)]: { description: r.ok.description ?? 'OK', content: content(r.ok.body, sink, 'output') } };
  const named = [
    ...(r.body && r.body !== 'binary' ? [400, 413] : []),
    ...(r.query ? [400] : []),
    ...(r.auth === 'none' ? [] : [401]),
    ...(r.errors ?? []),
  ];
  for (const status of new Set(named)) out[String(status)] = error(ERROR_TEXT[status] ?? 'Error');
  out.default = error('Any other error, in the one error shape');
  return out;
}

function operation(r: ApiRoute, sink: SchemaSink): Json {
  const op: Json = {
    operationId: `${r.method}${openApiPath(r.path)
      .replace(/[{}]/g, '')
      .replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: r.summary,
    tags: [r.tag],
    parameters: parameters(r, sink),
    responses: responses(r, sink),
    security: r.auth === 'none' ? [] : [{ [SECURITY[r.auth].scheme]: [] }],
  };
  if (r.body) op.requestBody = { required: r.body !== 'binary' || r.method === 'put', content: content(r.body, sink, 'input') };
  return op;
}

export function buildOpenApiDocument(routes: ApiRoute[] = API_ROUTES): Json {
  const sink = new SchemaSink();
  sink.convert(ApiErrorBody, 'output');
  const paths: Record<string, Json> = {};
  for (const r of routes) (paths[openApiPath(r.path)] ??= {})[r.method] = operation(r, sink);
  const securitySchemes = Object.fromEntries(
    Object.values(SECURITY).map((s) => [s.scheme, { type: 'http', scheme: 'bearer', description: s.description }]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Blackstart API',
      version: '1',
      description:
        'Recovers block-storage volumes after failures. Every error is `{"error":{"code","message"}}`; bad input is a 4xx that changes nothing. ' +
        'Beyond EBS: the read-only restore with review grants, proof-based auto-enable, decisions other than enable, and archiving when a review is ignored.',
    },
    paths,
    components: { schemas: sink.components, securitySchemes },
  };
}

let cached: Json | undefined;
export function openApiDocument(): Json {
  return (cached ??= buildOpenApiDocument());
}
