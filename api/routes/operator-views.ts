// Operator views the console draws: recovery workflows with phases and their Temporal UI
// address, the mass-outage breaker, the review queue, copies per node.
import { Router } from 'express';
import { z } from 'zod';
import { operatorAuth } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { breakerView, nodeCopies, recoveryWorkflows, reviewQueue } from '../use-cases/operator-views.js';
import { handle } from './handler.js';
import { Count, parsedQuery, query } from './query.js';

export const WorkflowsQuery = z.strictObject({ limit: Count.pipe(z.number().min(1).max(500)).default(100) });

/** TEMPORAL_UI_URL: where the Temporal Web UI is (links from the console); a bad URL stops the API at start. */
export function temporalUiUrl(vars: NodeJS.ProcessEnv = process.env): string {
  return new URL(vars.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233').toString().replace(/\/$/, '');
}

export function operatorViewRoutes(deps: Deps): Router {
  const r = Router();
  const ui = temporalUiUrl();
  const auth = operatorAuth(deps.config.operatorToken);
  r.get(
    '/v1/operator/recovery-workflows',
    auth,
    query(WorkflowsQuery),
    handle((_req, res) => recoveryWorkflows(deps, parsedQuery<z.infer<typeof WorkflowsQuery>>(res).limit, ui)),
  );
  r.get(
    '/v1/operator/breaker',
    auth,
    query(),
    handle(() => breakerView(deps)),
  );
  r.get(
    '/v1/operator/review-queue',
    auth,
    query(),
    handle(() => reviewQueue(deps)),
  );
  r.get(
    '/v1/operator/node-copies',
    auth,
    query(),
    handle(() => nodeCopies(deps)),
  );
  return r;
}
