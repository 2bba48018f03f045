// TLS to a storage node's NBD port, after its NBD_OPT_STARTTLS acknowledgement: the node's
// certificate must chain to the cluster CA and name DNS:<node id>, the node the API said serves the
// volume (its address alone proves little: one published host may front several nodes).
import type { Socket } from 'node:net';
import { checkServerIdentity, connect, type TLSSocket } from 'node:tls';

export interface NodeTls {
  /** The cluster CA (PEM). */
  ca: Buffer | string;
}

export function startTls(raw: Socket, nodeId: string, tls: NodeTls): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    raw.on('error', () => undefined); // reported by the TLS socket over it
    const secured = connect({
      socket: raw,
      ca: tls.ca,
      minVersion: 'TLSv1.2',
      checkServerIdentity: (_host, cert) => checkServerIdentity(nodeId, cert),
    });
    const onError = (err: Error) => {
      secured.destroy();
      reject(err);
    };
    secured.once('error', onError);
    secured.once('secureConnect', () => {
      secured.off('error', onError);
      resolve(secured);
    });
  });
}
