import type { NextFunction, Request, Response } from 'express';

/** Wraps an async route: its value is sent as JSON (or bytes), its error goes to the middleware. */
export function handle(fn: (req: Request, res: Response) => Promise<unknown>, status = 200) {
  return (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).then((body) => {
      if (res.headersSent) return;
      if (Buffer.isBuffer(body)) res.status(status).type('application/octet-stream').send(body);
      else res.status(status).json(body);
    }, next);
  };
}

/** An AbortSignal that fires when the client disconnects before the answer. */
export function clientGone(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
