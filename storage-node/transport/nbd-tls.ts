// NBD over TLS on a node (spec: doc/proto.md "TLS support"): the mode, the node's credentials, the
// answer to NBD_OPT_STARTTLS and the upgrade of a connection's socket once it is acknowledged.
// `optional` is the spec's SELECTIVETLS with no TLS-only export; `require` its FORCEDTLS.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError } from '../../common/config.js';
import { NbdRep } from '../protocol/nbd-constants.js';

export const NBD_TLS_MODES = ['off', 'optional', 'require'] as const;
export type NbdTlsMode = (typeof NBD_TLS_MODES)[number];

export interface NbdTls {
  mode: Exclude<NbdTlsMode, 'off'>;
  context: SecureContext;
}

export interface NbdTlsFiles {
  cert?: string;
  key?: string;
  /** The cluster CA: when given, the node checks at start-up that its certificate is one of the CA's, for this node. */
  ca?: string;
}

/** The server side of TLS for `mode`; undefined when off. Unreadable or wrong files stop the node. */
export function loadNbdTls(mode: NbdTlsMode, files: NbdTlsFiles, nodeId: string, now = new Date()): NbdTls | undefined {
  if (mode === 'off') return undefined;
  const problems: string[] = [];
  const read = (name: string, path: string | undefined) => {
    try {
      return readFileSync(path!);
    } catch (err) {
      problems.push(`${name}: cannot read ${path}: ${(err as Error).message}`);
      return null;
    }
  };
  const cert = read('NODE_NBD_TLS_CERT', files.cert);
  const key = read('NODE_NBD_TLS_KEY', files.key);
  const ca = files.ca === undefined ? null : read('NODE_NBD_TLS_CA', files.ca);
  if (cert && ca) problems.push(...certificateProblems(cert, ca, nodeId, now));
  if (problems.length) throw new ConfigError(problems);
  try {
    return { mode, context: createSecureContext({ cert: cert!, key: key!, minVersion: 'TLSv1.2' }) };
  } catch (err) {
    throw new ConfigError([`NODE_NBD_TLS_CERT and NODE_NBD_TLS_KEY do not make a TLS identity: ${(err as Error).message}`]);
  }
}

/**
 * What is wrong with a node's certificate: not issued by the cluster CA, not naming the node
 * (`blackstart attach` checks the name DNS:<node id>), or not valid now.
 */
export function certificateProblems(certPem: Buffer, caPem: Buffer, nodeId: string, now = new Date()): string[] {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caPem);
  } catch (err) {
    return [`NODE_NBD_TLS_CERT or NODE_NBD_TLS_CA is not a PEM certificate: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    problems.push(`NODE_NBD_TLS_CERT (${cert.subject}) is not signed by NODE_NBD_TLS_CA`);
  if (!cert.checkHost(nodeId, { wildcards: false }))
    problems.push(`NODE_NBD_TLS_CERT does not name this node (DNS:${nodeId}): ${cert.subjectAltName}`);
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo))
    problems.push(`NODE_NBD_TLS_CERT is valid from ${cert.validFrom} to ${cert.validTo} only`);
  return problems;
}

/** Why NBD_OPT_STARTTLS is refused on this connection (the reply and a message), or null: acknowledge it. */
export function startTlsRefusal(tls: NbdTls | undefined, secured: boolean, data: Buffer): { reply: number; message: string } | null {
  if (!tls) return { reply: NbdRep.ERR_POLICY, message: 'TLS is not offered on this node (NODE_NBD_TLS=off)' };
  if (secured) return { reply: NbdRep.ERR_INVALID, message: 'TLS is already on' };
  if (data.length > 0) return { reply: NbdRep.ERR_INVALID, message: 'STARTTLS takes no data' };
  return null;
}

/** The connection's socket, now carried by TLS (after the ACK has been written on `raw`). */
export function upgradeServerSocket(raw: Socket, tls: NbdTls): TLSSocket {
  return new TLSSocket(raw, { isServer: true, secureContext: tls.context });
}
