// `blackstart attach`: an NBD endpoint on the customer's host (a unix socket or a TCP port) for
// any unmodified NBD client, forwarding to the volume's current primary and following it.
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { serveLocalClient } from './local-session.js';
import { apiResolver, type Placement } from './placement.js';
import { Upstream } from './upstream.js';

export interface AttachOptions {
  apiUrl: string;
  apiKey: string;
  volumeId: string;
  /** The restored copy, read-only, while its I/O is held (a review grant). */
  review: boolean;
  /** Listen on this unix socket; else on `host:port` (port 0: any free port). */
  socketPath?: string;
  host?: string;
  port?: number;
  watchMs?: number;
  log?: (line: string) => void;
}

export interface Attachment {
  placement: Placement;
  /** An NBD URI for clients: nbd+unix:///?socket=PATH or nbd://HOST:PORT/ */
  uri: string;
  close(): Promise<void>;
}

/** Fails at once (VolumeGoneError) when the key, the volume or its state does not allow attaching. */
export async function attach(opts: AttachOptions): Promise<Attachment> {
  const upstream = new Upstream(apiResolver(opts.apiUrl, opts.apiKey, opts.volumeId, opts.review), { watchMs: opts.watchMs ?? 2000, log: opts.log });
  const placement = await upstream.start();
  const exp = { name: opts.volumeId, sizeBytes: placement.sizeBytes, readOnly: placement.readOnly };
  const clients = new Set<Socket>();
  const server = createServer((socket) => {
    clients.add(socket.on('close', () => clients.delete(socket)));
    serveLocalClient(socket, exp, upstream);
  });
  if (opts.socketPath) await rm(opts.socketPath, { force: true });
  await listen(server, opts);
  return {
    placement,
    uri: opts.socketPath ? `nbd+unix:///?socket=${opts.socketPath}` : `nbd://${opts.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}/`,
    async close() {
      upstream.close();
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (opts.socketPath) await rm(opts.socketPath, { force: true });
    },
  };
}

function listen(server: Server, opts: AttachOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (opts.socketPath) server.listen(opts.socketPath, () => resolve());
    else server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
}
