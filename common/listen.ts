import type { Server } from 'node:http';
import type { RequestListener } from 'node:http';
import { createServer } from 'node:http';

/** Starts an HTTP server; port 0 picks a free port. Resolves once it is listening. */
export function listen(handler: RequestListener, port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function boundPort(server: Server): number {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('server is not listening on a TCP port');
  return address.port;
}
