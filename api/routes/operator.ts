// Operator API: /v1/operator — customers, fleet, recoveries, admission.
import express, { Router } from 'express';
import { z } from 'zod';
import { operatorAuth } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { health } from '../use-cases/health.js';
import { QuotaBody, setQuota, showQuota } from '../use-cases/quotas.js';
import {
  CreateCustomerBody,
  ThrottleBody,
  addCustomer,
  admission,
  fleet,
  recoveries,
  setThrottle,
  throttle,
} from '../use-cases/operator.js';
import { handle } from './handler.js';
import { Count, parsedQuery, query } from './query.js';

export const RecoveriesQuery = z.strictObject({ limit: Count.pipe(z.number().min(1).max(1000)).default(100) });
const THIRTY_DAYS_S = 30 * 86_400;
/** `stuckAfterSeconds`: the bound past which an open server recovery is stuck (default HEALTH_STUCK_RECOVERY_MS); 1 s to 30 days. */
export const HealthQuery = z.strictObject({ stuckAfterSeconds: Count.pipe(z.number().min(1).max(THIRTY_DAYS_S)).optional() });

export function operatorRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/v1/operator', operatorAuth(deps.config.operatorToken));
  r.post(
    '/v1/operator/customers',
    query(),
    express.json({ limit: '16kb' }),
    handle((req) => addCustomer(deps, CreateCustomerBody.parse(req.body)), 201),
  );
  r.get(
    '/v1/operator/customers/:customerId/quota',
    query(),
    handle((req) => showQuota(deps, req.params.customerId!)),
  );
  r.put(
    '/v1/operator/customers/:customerId/quota',
    query(),
    express.json({ limit: '4kb' }),
    handle((req) => setQuota(deps, req.params.customerId!, QuotaBody.parse(req.body))),
  );
  r.get(
    '/v1/operator/fleet',
    query(),
    handle(() => fleet(deps)),
  );
  r.get(
    '/v1/operator/health',
    query(HealthQuery),
    handle(async (_req, res) => {
      const seconds = parsedQuery<z.infer<typeof HealthQuery>>(res).stuckAfterSeconds;
      return health(deps, seconds === undefined ? undefined : seconds * 1000);
    }),
  );
  r.get(
    '/v1/operator/recoveries',
    query(RecoveriesQuery),
    handle(async (_req, res) => ({
      recoveries: await recoveries(deps, parsedQuery<z.infer<typeof RecoveriesQuery>>(res).limit),
    })),
  );
  r.get(
    '/v1/operator/admission',
    query(),
    handle(() => admission(deps)),
  );
  r.get(
    '/v1/operator/throttle',
    query(),
    handle(() => throttle(deps)),
  );
  r.put(
    '/v1/operator/throttle',
    query(),
    express.json({ limit: '4kb' }),
    handle((req) => setThrottle(deps, ThrottleBody.parse(req.body))),
  );
  return r;
}
