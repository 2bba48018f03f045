// Counts a data-path request against its customer's and volume's in-flight caps from its
// arrival, before its body is read, so a customer over its cap costs the API no buffered bytes.
import type { NextFunction, Request, Response } from 'express';
import { MAX_IO_BYTES } from '../../storage-node/protocol/block-range.js';
import { customerId } from '../auth.js';
import type { HoldLimits } from '../use-cases/hold-limits.js';

/** The bytes a request will hold: a read's length, a write's declared body (the most when undeclared). */
function heldBytes(req: Request, kind: 'read' | 'write', length: number | undefined): number {
  if (kind === 'read') return Math.min(length ?? MAX_IO_BYTES, MAX_IO_BYTES);
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, MAX_IO_BYTES) : MAX_IO_BYTES;
}

export function holdIo(holds: HoldLimits, kind: 'read' | 'write') {
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = (res.locals.query as { length?: number } | undefined)?.length;
    try {
      res.on('close', holds.acquire(customerId(res), req.params.id!, heldBytes(req, kind, length)));
    } catch (err) {
      return next(err);
    }
    next();
  };
}
