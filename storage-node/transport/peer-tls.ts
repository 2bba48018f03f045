// Node-to-node traffic (mirror batches, rebuild ranges, the peer probe) over mutual TLS: each node
// serves its replication endpoints on a second, HTTPS-only port that asks every caller for a
// certificate from the cluster CA, and calls its peers there with its own certificate, checking
// that the peer's names the node it meant to reach (DNS:<node id>).
import { readFileSync } from 'node:fs';
import { Agent, request, type ServerOptions } from 'node:https';
import { checkServerIdentity, type PeerCertificate, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { ConfigError } from '../../common/config.js';
import { httpErrorFrom } from '../../common/http.js';
import { certificateProblems, type NbdTlsFiles } from './nbd-tls.js';

export const PEER_TLS_MODES = ['off', 'require'] as const;
export type PeerTlsMode = (typeof PEER_TLS_MODES)[number];

export interface PeerTls {
  /** The HTTPS server's options: the node's identity, and a client certificate required from the CA. */
  server: ServerOptions;
  /** Keeps connections to peers open across batches: one handshake per peer, not per request. */
  agent: Agent;
  /** What the node presents when it opens a connection of its own to a peer (the mirror stream). */
  client: SecureContextOptions;
}

/** The node's peer identity (the same certificate pair as NBD over TLS); undefined when off. */
export function loadPeerTls(mode: PeerTlsMode, files: NbdTlsFiles, nodeId: string, now = new Date()): PeerTls | undefined {
  if (mode === 'off') return undefined;
  const problems: string[] = [];
  const read = (name: string, path: string | undefined) => {
    if (!path) return void problems.push(`NODE_PEER_TLS=require needs ${name}`);
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`${name}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const cert = read('NODE_NBD_TLS_CERT', files.cert);
  const key = read('NODE_NBD_TLS_KEY', files.key);
  const ca = read('NODE_NBD_TLS_CA', files.ca);
  if (cert && ca) problems.push(...certificateProblems(cert, ca, nodeId, now));
  if (problems.length) throw new ConfigError(problems);
  const identity = { cert: cert!, key: key!, ca: ca!, minVersion: 'TLSv1.2' as const };
  return {
    server: { ...identity, requestCert: true, rejectUnauthorized: true },
    agent: new Agent({ ...identity, keepAlive: true, maxSockets: 64 }),
    client: identity,
  };
}

/** True when the request came over the peer port with a certificate the CA vouches for. */
export function fromVerifiedPeer(socket: unknown): boolean {
  return (socket as Partial<TLSSocket>).encrypted === true && (socket as TLSSocket).authorized === true;
}

/** Connection options that accept only a peer whose certificate names `nodeId`. */
export function expectingNode(nodeId: string) {
  return { servername: nodeId, checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(nodeId, cert) };
}

export interface PeerRequest {
  method: string;
  token?: string;
  raw?: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * One request to the node `nodeId` at `url` (its peer port), over `tls.agent`. Answers the body;
 * a non-2xx answer throws the same HttpError the plain client does.
 */
export function peerRequest(tls: PeerTls, nodeId: string, url: string, opts: PeerRequest): Promise<Buffer> {
  const signals = [opts.signal, AbortSignal.timeout(opts.timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
  const headers: Record<string, string> = { 'content-length': String(opts.raw?.length ?? 0) };
  if (opts.raw) headers['content-type'] = 'application/octet-stream';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method,
      headers,
      agent: tls.agent,
      ...expectingNode(nodeId),
      signal: AbortSignal.any(signals),
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(body);
        const retryAfter = res.headers['retry-after'];
        reject(httpErrorFrom(status, res.statusMessage ?? '', body.toString('utf8'), retryAfter ? Number(retryAfter) : undefined));
      });
    });
    req.end(opts.raw);
  });
}
