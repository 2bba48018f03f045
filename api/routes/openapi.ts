// The OpenAPI document (GET /v1/openapi.json) and its rendering for people (GET /docs).
import { Router } from 'express';
import { openApiDocument } from '../openapi.js';
import { renderReferencePage } from '../openapi-page.js';

export function openApiRoutes(): Router {
  const r = Router();
  let page: string | undefined;
  r.get('/v1/openapi.json', (_req, res) => void res.json(openApiDocument()));
  r.get('/docs', (_req, res) => void res.type('html').send((page ??= renderReferencePage(openApiDocument()))));
  return r;
}
