// Express request logging: every request gets an id (the caller's `x-request-id` when it looks
// like one, else a new one), echoed in the answer and carried by `res.locals.log`, so the error
// middleware's line and the request's line share it. Successes log at debug (heartbeats arrive
// every second from every node), client errors at info, server errors at error.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Log } from './log.js';

const REQUEST_ID = /^[\w.:-]{1,64}$/;

export function requestLog(log: () => Log) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.get('x-request-id');
    const reqId = given && REQUEST_ID.test(given) ? given : randomUUID();
    const started = process.hrtime.bigint();
    const reqLog = log().child({ reqId });
    res.locals.log = reqLog;
    res.set('x-request-id', reqId);
    res.on('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const status = res.statusCode;
      // 503 names an expected, passing condition (a node still recovering, a peer gone): not an error of ours.
      const level = status === 503 ? 'warn' : status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
      // The path only: queries may carry review grants.
      reqLog[level]({ method: req.method, path: req.originalUrl.split('?')[0], status, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

/** The request's logger (set by requestLog), or `fallback`. */
export function logOf(res: Response, fallback: () => Log): Log {
  return (res.locals.log as Log | undefined) ?? fallback();
}
