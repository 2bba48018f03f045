// Who is calling: a customer (API key), a storage node (node token), or an operator.
import type { NextFunction, Request, Response } from 'express';
import { joinToken, nodeOfToken, safeEqual } from '../common/tokens.js';
import { customerForKey } from './repositories/customers.js';
import type { Db } from './repositories/db.js';
import { AppError } from './errors.js';
import type { RequestLimits } from './use-cases/hold-limits.js';

function bearer(req: Request): string {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice(7) : '';
}

const unauthenticated = (what: string) => new AppError(401, 'unauthenticated', `${what} is required`, { 'www-authenticate': 'Bearer' });

/** Authenticates a customer, then counts the request against its bound of concurrent requests. */
export function customerAuth(db: Db, requests: RequestLimits) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const key = bearer(req);
    if (!key) return next(unauthenticated('a customer API key'));
    customerForKey(db, key).then((customerId) => {
      if (!customerId) return next(unauthenticated('a valid customer API key'));
      res.locals.customerId = customerId;
      try {
        res.on('close', requests.acquire(customerId));
      } catch (err) {
        return next(err);
      }
      next();
    }, next);
  };
}

/** A node may act only for itself: a valid token for another node is 403, not 401. */
export function nodeAuth(clusterSecret: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const caller = nodeOfToken(clusterSecret, bearer(req));
    if (!caller) return next(unauthenticated('a valid node token'));
    if (caller === req.params.nodeId) return next();
    next(new AppError(403, 'forbidden', `node ${caller} cannot act for node ${req.params.nodeId}`));
  };
}

export function joinAuth(clusterSecret: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(safeEqual(bearer(req), joinToken(clusterSecret)) ? undefined : unauthenticated('the cluster join token'));
  };
}

export function operatorAuth(operatorToken: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(safeEqual(bearer(req), operatorToken) ? undefined : unauthenticated('the operator token'));
  };
}

export function customerId(res: Response): string {
  return res.locals.customerId as string;
}
