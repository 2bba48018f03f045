// The storage nodes' certificates for NBD over TLS and for their mutual TLS to each other, from
// the cluster's CA (scripts/node-certs.sh), kept under the cluster's directory so a restarted
// cluster serves the same ones.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NbdTlsMode } from '../storage-node/transport/nbd-tls.js';
import { ROOT } from './paths.js';

export interface NodeCerts {
  /** The cluster CA: what `blackstart attach` checks nodes against (BLACKSTART_CA). */
  ca: string;
  /** ca-cert.pem alone: the directory libnbd (tls-certificates=) and qemu (tls-creds-x509 dir=) read. */
  clientDir: string;
  dir: string;
}

/** Issues what is missing: the CA, and a certificate per node naming it, loopback and the address `addressOf` gives. */
export async function ensureNodeCerts(
  dir: string,
  nodes: { nodeId: string }[],
  addressOf: (nodeId: string) => string | undefined = () => undefined,
): Promise<NodeCerts> {
  const specs = nodes.map(({ nodeId }) => {
    const address = addressOf(nodeId);
    return address ? `${nodeId}=IP:${address}` : nodeId;
  });
  await promisify(execFile)('bash', [join(ROOT, 'scripts', 'node-certs.sh'), dir, ...specs]);
  return { ca: join(dir, 'ca.pem'), clientDir: join(dir, 'nbd-client'), dir };
}

/** A node's NODE_NBD_TLS* variables; with certificates, its peers always mirror to it over mutual TLS. */
export function nodeTlsEnv(certs: NodeCerts, mode: NbdTlsMode, nodeId: string): Record<string, string> {
  return {
    NODE_NBD_TLS: mode,
    NODE_PEER_TLS: 'require',
    NODE_NBD_TLS_CERT: join(certs.dir, 'nodes', `${nodeId}.pem`),
    NODE_NBD_TLS_KEY: join(certs.dir, 'nodes', `${nodeId}.key`),
    NODE_NBD_TLS_CA: certs.ca,
  };
}
