import type { Server } from 'node:http';
import type { RequestListener } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { Duplex } from 'node:stream';

/** Starts an HTTP server; port 0 picks a free port. Resolves once it is listening. */
export function listen(handler: RequestListener, port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.on('clientError', answerUnparsable);
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Starts an HTTPS server with `options` (its identity, and what it asks of clients). */
export function listenTls(handler: RequestListener, options: HttpsOptions, port: number, host = '127.0.0.1'): Promise<HttpsServer> {
  return new Promise((resolve, reject) => {
    const server = createHttpsServer(options, handler);
    server.on('clientError', answerUnparsable);
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * A request Node's parser refuses (headers past 16 KiB, a malformed line) is answered in the one
 * error shape, not with Node's bare status line.
 */
function answerUnparsable(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const [status, code] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers-too-large'] : [400, 'malformed-request'];
  const body = JSON.stringify({
    error: { code, message: status === 431 ? 'request line and headers exceed 16 KiB' : 'the request could not be parsed' },
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function closeServer(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function boundPort(server: Server | HttpsServer): number {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('server is not listening on a TCP port');
  return address.port;
}
