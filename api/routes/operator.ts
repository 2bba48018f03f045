// Operator API: /v1/operator — customers, fleet, recoveries, admission.
import express, { Router } from 'express';
import { operatorAuth } from '../auth.js';
import type { Deps } from '../use-cases/deps.js';
import { CreateCustomerBody, ThrottleBody, addCustomer, admission, fleet, recoveries, setThrottle, throttle } from '../use-cases/operator.js';
import { handle } from './handler.js';

export function operatorRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/v1/operator', operatorAuth(deps.config.operatorToken));
  r.post('/v1/operator/customers', express.json({ limit: '16kb' }), handle((req) => addCustomer(deps, CreateCustomerBody.parse(req.body)), 201));
  r.get('/v1/operator/fleet', handle(() => fleet(deps)));
  r.get('/v1/operator/recoveries', handle(async (req) => ({ recoveries: await recoveries(deps, Math.min(1000, Number(req.query.limit) || 100)) })));
  r.get('/v1/operator/admission', handle(() => admission(deps)));
  r.get('/v1/operator/throttle', handle(() => throttle(deps)));
  r.put('/v1/operator/throttle', express.json({ limit: '4kb' }), handle((req) => setThrottle(deps, ThrottleBody.parse(req.body))));
  return r;
}
