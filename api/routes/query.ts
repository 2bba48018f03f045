// Query parameters are validated like bodies: a schema per route, unknown parameters refused.
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

/** A route that takes no query parameters. */
export const NoQuery = z.strictObject({});

/** A non-negative integer written plainly in decimal ("", "-1", "0.5", "1e3", "0x10" are refused). */
export const Count = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer')
  .transform(Number);

/** Validates `req.query` with `schema` before the handler; the parsed value is in `res.locals.query`. */
export function query(schema: z.ZodType = NoQuery) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const parsed = schema.safeParse(req.query);
    if (!parsed.success) return next(parsed.error);
    res.locals.query = parsed.data;
    next();
  };
}

export function parsedQuery<T>(res: Response): T {
  return res.locals.query as T;
}
