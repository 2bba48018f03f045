// One application error type and one error middleware: every failure leaves as {error:{code,message}}.
import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { logger } from '../common/log.js';
import { logOf } from '../common/request-log.js';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError(404, 'not-found', `${what} not found`);

export function errorMiddleware(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const e = toAppError(err);
  if (e.status >= 500) logOf(res, logger).error({ err, method: req.method, path: req.path }, 'unexpected error');
  if (res.headersSent) return void res.end();
  res
    .set(e.headers)
    .status(e.status)
    .json({ error: { code: e.code, message: e.message } });
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    const message = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return new AppError(400, 'invalid-request', message);
  }
  const status = (err as { status?: number; type?: string }).status;
  const type = (err as { type?: string }).type;
  if (status === 413 || type === 'entity.too.large') return new AppError(413, 'payload-too-large', 'request body is too large');
  if (status === 400 || type === 'entity.parse.failed') return new AppError(400, 'malformed-request', 'request body is not valid JSON');
  if (status && status >= 400 && status < 500) return new AppError(status, 'bad-request', (err as Error).message);
  return new AppError(500, 'internal', 'internal error', {}, err);
}
