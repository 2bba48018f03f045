// Checks an actual answer of the API against the OpenAPI document: the operation is found by
// method and path template, the status must be listed (or `default`), and a JSON body must match
// the schema. A mismatch throws, so every test that calls through `checkedFetch` fails on drift.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { buildOpenApiDocument } from '../../api/openapi.js';

type Json = Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, Json> }>>; components: Json };
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const compiled = new Map<string, ValidateFunction>();

function operationFor(method: string, pathname: string) {
  for (const [template, item] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
    if (re.test(pathname) && item[method.toLowerCase()]) return { template, op: item[method.toLowerCase()]! };
  }
  return null;
}

function validatorFor(key: string, schema: Json): ValidateFunction {
  let v = compiled.get(key);
  if (!v) compiled.set(key, (v = ajv.compile({ ...schema, components: doc.components })));
  return v;
}

/** Throws unless (method, url, status, content type, body) is an answer the document describes. */
export function checkResponse(method: string, url: string, status: number, contentType: string, body: unknown): void {
  const pathname = new URL(url, 'http://x').pathname;
  const found = operationFor(method, pathname);
  if (!found) throw new Error(`OpenAPI: no operation for ${method} ${pathname}`);
  const response = (found.op.responses[String(status)] ?? found.op.responses.default) as
    { content?: Record<string, { schema: Json }> } | undefined;
  if (!response) throw new Error(`OpenAPI: ${method} ${found.template} does not list status ${status}`);
  const media = Object.keys(response.content ?? {})[0];
  if (!media) return;
  if (!contentType.startsWith(media))
    throw new Error(`OpenAPI: ${method} ${found.template} ${status} is ${contentType}, the document says ${media}`);
  if (media !== 'application/json') return;
  const validate = validatorFor(`${method} ${found.template} ${status}`, response.content![media]!.schema);
  if (!validate(body)) {
    throw new Error(
      `OpenAPI: ${method} ${found.template} ${status} does not match: ${ajv.errorsText(validate.errors)}; body ${JSON.stringify(body).slice(0, 400)}`,
    );
  }
}

/** fetch, then the answer checked against the document; the body comes back parsed (JSON) or as bytes. */
export async function checkedFetch(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, init);
  const type = res.headers.get('content-type') ?? '';
  const raw = Buffer.from(await res.arrayBuffer());
  const body = type.startsWith('application/json') ? (JSON.parse(raw.toString()) as unknown) : raw;
  checkResponse(init.method ?? 'GET', url, res.status, type, body);
  return { status: res.status, headers: res.headers, body };
}
