// `blackstart attach`: an NBD endpoint on the customer's host (a unix socket or a TCP port) for
// any unmodified NBD client, forwarding to the volume's current primary and following it. Only
// the user who attached reaches it: the socket is theirs alone (mode 0600), and a TCP port opens
// only to a secret export name made for this attach and printed once, in its URI.
import { randomBytes } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { startNbdServer } from '../storage-node/transport/nbd-server.js';
import { forwardingExports } from './forwarding-exports.js';
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
  /** The cluster CA (PEM): the node connections are made over TLS, the node's certificate checked against it. */
  nodeCa?: Buffer;
  log?: (line: string) => void;
}

export interface Attachment {
  placement: Placement;
  /** An NBD URI for clients: nbd+unix:///?socket=PATH or nbd://HOST:PORT/SECRET */
  uri: string;
  close(): Promise<void>;
}

/** Fails at once (VolumeGoneError) when the key, the volume or its state does not allow attaching. */
export async function attach(opts: AttachOptions): Promise<Attachment> {
  const upstream = new Upstream(apiResolver(opts.apiUrl, opts.apiKey, opts.volumeId, opts.review), {
    watchMs: opts.watchMs ?? 2000,
    tls: opts.nodeCa ? { ca: opts.nodeCa } : undefined,
    log: opts.log,
  });
  const placement = await upstream.start();
  const secret = opts.socketPath ? undefined : randomBytes(24).toString('base64url');
  const volume = { name: opts.volumeId, sizeBytes: placement.sizeBytes, readOnly: placement.readOnly };
  const exports = forwardingExports(volume, upstream, secret);
  const host = opts.host ?? '127.0.0.1';
  if (opts.socketPath) await rm(opts.socketPath, { force: true });
  const server = await listenOwnerOnly(opts.socketPath, () =>
    startNbdServer({ exports }, opts.socketPath ? { path: opts.socketPath } : { port: opts.port ?? 0, host }),
  ).catch((err: unknown) => {
    upstream.close();
    throw err;
  });
  return {
    placement,
    uri: opts.socketPath ? `nbd+unix:///?socket=${opts.socketPath}` : `nbd://${host}:${server.port}/${secret}`,
    async close() {
      upstream.close();
      await server.close();
      if (opts.socketPath) await rm(opts.socketPath, { force: true });
    },
  };
}

/**
 * A unix socket is created with no access for group or others (connecting needs write access),
 * under a umask set only while it is bound, then made 0600 whatever the umask was.
 */
async function listenOwnerOnly<T>(socketPath: string | undefined, listen: () => Promise<T>): Promise<T> {
  if (!socketPath) return listen();
  const umask = process.umask(0o177);
  let listening: Promise<T>;
  try {
    listening = listen(); // binds the socket before it returns
  } finally {
    process.umask(umask);
  }
  const server = await listening;
  await chmod(socketPath, 0o600);
  return server;
}
