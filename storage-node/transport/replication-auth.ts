// Who may replicate into a volume on this node, checked the same way for the HTTP replication
// endpoints and for each request on a mirror stream: the node must be registered, TLS-required
// mode takes only a verified peer over the peer port, the bearer must be the volume's mirror
// token, and the message must be for the epoch that token names.
import { epochOfMirrorToken } from '../../common/tokens.js';
import { NodeError } from '../node-service.js';
import { decodeReplication, type MessageKind, type ReplicationMessage } from '../protocol/replication.js';
import type { PeerTlsMode } from './peer-tls.js';

export interface ReplicationCaller {
  /** The node's mirror secret (null until it registers). */
  secret: string | null;
  volumeId: string;
  /** The bearer it presented. */
  token: string;
  /** Whether it came over the peer port with a certificate from the cluster CA. */
  tls: boolean;
  mode: PeerTlsMode | undefined;
}

/** The epoch the caller may replicate into its volume at; throws the refusal otherwise. */
export function authorizeReplication(c: ReplicationCaller): number {
  if (!c.secret) throw new NodeError(503, 'not-registered', 'node has not registered yet');
  refuseWithoutPeerTls(c.mode, c.tls);
  const epoch = epochOfMirrorToken(c.secret, c.volumeId, c.token);
  if (epoch === null) throw new NodeError(401, 'unauthenticated', `a valid mirror token for volume ${c.volumeId} is required`);
  return epoch;
}

/** Refuses a caller that did not come over TLS when the node takes replication only that way. */
export function refuseWithoutPeerTls(mode: PeerTlsMode | undefined, tls: boolean): void {
  if (mode === 'require' && !tls) {
    throw new NodeError(
      403,
      'peer-tls-required',
      'this node takes replication only over its TLS peer port, with a certificate from the cluster CA',
    );
  }
}

/** `bytes` decoded as a message of `kind` for `volumeId` at the token's `epoch`; a 400 or 403 otherwise. */
export function replicationMessage<K extends MessageKind>(
  kind: K,
  volumeId: string,
  bytes: Buffer,
  epoch: number,
): Extract<ReplicationMessage, { kind: K }> {
  const decoded = decodeReplication(volumeId, bytes);
  if (!decoded.ok) throw new NodeError(400, 'bad-message', decoded.error);
  if (decoded.message.kind !== kind) throw new NodeError(400, 'bad-message', `this endpoint takes message kind ${kind}`);
  if (decoded.message.epoch !== epoch) {
    throw new NodeError(403, 'wrong-epoch', `the mirror token is for epoch ${epoch}, not ${decoded.message.epoch}`);
  }
  return decoded.message as Extract<ReplicationMessage, { kind: K }>;
}
