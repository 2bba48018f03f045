// The web console (/console, built by Vite into dist/console-web) and the one route it needs
// that the REST API lacked: review reads proxied for the volume's owner, because a browser on
// the console's origin cannot call a storage node. Read-only: a review grant, then the node's
// review endpoint, which refuses anything but reads. Its page names the APIs the console may
// move to (CONSOLE_API_URLS) in a <meta name="blackstart-api-urls"> (console/src/endpoints.ts).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';
import type { z } from 'zod';
import { HttpError } from '../../common/http.js';
import { reviewRead } from '../../storage-node/client.js';
import { customerAuth, customerId } from '../auth.js';
import { AppError } from '../errors.js';
import type { Deps } from '../use-cases/deps.js';
import { reviewGrant } from '../use-cases/volumes.js';
import { handle } from './handler.js';
import { parsedQuery, query } from './query.js';
import { ReadQuery } from './volumes.js';

/** Where `npm run build` puts the console: dist/console-web beside dist/api. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console-web/', import.meta.url));

async function proxiedReviewRead(deps: Deps, owner: string, volumeId: string, offset: number, length: number): Promise<Buffer> {
  const grant = await reviewGrant(deps, owner, volumeId);
  try {
    return await reviewRead(grant.nodeUrl, volumeId, grant.grant, offset, length);
  } catch (err) {
    if (err instanceof HttpError && err.status < 500) throw new AppError(err.status === 403 ? 409 : err.status, err.code, err.message);
    throw new AppError(503, 'node-unavailable', `the node holding the copy did not answer: ${(err as Error).message}`, {
      'retry-after': '5',
    });
  }
}

const escapeAttribute = (text: string) => text.replace(/[&"<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' })[c]!);

/** The console's page with the API list in it; read on each request, so a rebuild is served at once. */
function consolePage(apiUrls: string[]): RequestHandler {
  const meta = `<meta name="blackstart-api-urls" content="${escapeAttribute(apiUrls.join(','))}" />`;
  return (_req, res, next) => {
    readFile(`${CONSOLE_DIR}index.html`, 'utf8')
      .then((html) => {
        res.type('html').set('cache-control', 'no-cache');
        res.send(html.replace('</head>', `  ${meta}\n  </head>`));
      })
      .catch(next);
  };
}

export function consoleRoutes(deps: Deps): Router {
  const r = Router();
  r.get(
    '/v1/volumes/:id/review-data',
    customerAuth(deps.db, deps.dataPath.requests),
    query(ReadQuery),
    handle((req, res) => {
      const { offset, length } = parsedQuery<z.infer<typeof ReadQuery>>(res);
      return proxiedReviewRead(deps, customerId(res), req.params.id!, offset, length);
    }),
  );
  if (existsSync(CONSOLE_DIR)) {
    const page = consolePage(deps.config.consoleApiUrls);
    r.get(/^\/console\/(index\.html)?$/, page);
    r.use('/console', express.static(CONSOLE_DIR, { index: false, maxAge: 0 }));
    // The console routes in the browser (#/…): every other /console path is the app.
    r.get(/^\/console(\/.*)?$/, page);
  } else {
    r.get(/^\/console(\/.*)?$/, (_req, res) => void res.status(503).type('text').send('The console is not built: run npm run build.'));
  }
  return r;
}
