// The OpenAPI document: valid OpenAPI 3.1 by a real validator, and no route of the express app
// missing from it (nor a documented route the app lacks).
import { Validator } from '@seriousme/openapi-schema-validator';
import type express from 'express';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { buildOpenApiDocument, openApiPath } from '../../api/openapi.js';
import type { Deps } from '../../api/use-cases/deps.js';
import { checkResponse } from '../support/openapi-check.js';

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every (method, path) the express app routes, walking nested routers. */
function appRoutes(app: express.Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route && typeof layer.route.path === 'string') {
        for (const m of Object.keys(layer.route.methods)) out.push(`${m} ${openApiPath(layer.route.path)}`);
      } else if (layer.handle.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { _router: { stack: Layer[] } })._router.stack);
  return out;
}

const stubDeps = {
  config: { clusterSecret: 'x', operatorToken: 'y', consoleApiUrls: [] },
  dataPath: { requests: {}, holds: {} },
} as unknown as Deps;

describe('the OpenAPI document', () => {
  const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('when the app has a route, then the document describes it, and the other way round', () => {
    const routed = new Set(appRoutes(createApp(stubDeps)));
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`)));
    expect(
      [...routed].filter((r) => !documented.has(r)),
      'routes missing from the document',
    ).toEqual([]);
    expect(
      [...documented].filter((r) => !routed.has(r) && !r.startsWith('get /console')),
      'documented but not routed',
    ).toEqual([]);
  });

  it('when an answer does not match its schema, then the response check fails', () => {
    expect(() =>
      checkResponse('GET', '/v1/operator/throttle', 200, 'application/json', { maxConcurrentRecoveries: 5, massOutageShare: 0.3 }),
    ).not.toThrow();
    expect(() =>
      checkResponse('GET', '/v1/operator/throttle', 200, 'application/json', { maxConcurrentRecoveries: 5, massOutageShare: 0.3, port: 1 }),
    ).toThrow(/does not match/);
    expect(() =>
      checkResponse('GET', '/v1/volumes/vol-1', 404, 'application/json', { error: { code: 'not-found', message: 'x' } }),
    ).not.toThrow();
    expect(() => checkResponse('GET', '/v1/volumes/vol-1', 404, 'application/json', { message: 'x' })).toThrow(/does not match/);
    expect(() => checkResponse('GET', '/v1/nowhere', 200, 'application/json', {})).toThrow(/no operation/);
  });
});
