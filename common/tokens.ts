// Credentials derived from the cluster secret, so nothing secret is stored per node.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

function hmac(key: string, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

/** The token a node presents to the control plane and requires from its callers. */
export function nodeToken(clusterSecret: string, nodeId: string): string {
  return `${nodeId}.${hmac(clusterSecret, `node:${nodeId}`)}`;
}

/**
 * A node's mirror secret, handed to the node alone at registration. It never leaves the
 * control plane otherwise: primaries get `volumeMirrorToken`s derived from it.
 */
export function mirrorToken(clusterSecret: string, nodeId: string): string {
  return hmac(clusterSecret, `mirror:${nodeId}`);
}

/**
 * What a primary presents to mirror or rebuild into one volume on the node whose mirror secret
 * this is, at one epoch: `<epoch>.<mac>`. It opens no other volume and no other epoch, and
 * never the node's other endpoints.
 */
export function volumeMirrorToken(nodeMirrorSecret: string, volumeId: string, epoch: number): string {
  return `${epoch}.${hmac(nodeMirrorSecret, `mirror:${volumeId}:${epoch}`)}`;
}

/** The epoch a volume mirror token was issued for, or null when it is not one for `volumeId`; never verifies against an empty key. */
export function epochOfMirrorToken(nodeMirrorSecret: string | null, volumeId: string, token: string): number | null {
  if (!nodeMirrorSecret) return null;
  const text = token.slice(0, token.indexOf('.'));
  const epoch = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(epoch) && safeEqual(token, volumeMirrorToken(nodeMirrorSecret, volumeId, epoch)) ? epoch : null;
}

/** The node a token authenticates, or null when it is not a valid node token. */
export function nodeOfToken(clusterSecret: string, token: string): string | null {
  const nodeId = token.slice(0, token.lastIndexOf('.'));
  return nodeId && safeEqual(token, nodeToken(clusterSecret, nodeId)) ? nodeId : null;
}

/** The token a node presents once, to register and learn its node token. */
export function joinToken(clusterSecret: string): string {
  return hmac(clusterSecret, 'join');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What a grant lets its holder do: read the held copy for review, or serve block I/O as its owner. */
export type GrantAccess = 'review' | 'io';

export interface AccessGrant {
  volumeId: string;
  nodeId: string;
  access: GrantAccess;
  expiresAt: number;
}

/** A grant for one volume on one node, signed with that node's token (the node checks it without asking anyone). */
export function signGrant(grant: AccessGrant, token: string): string {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  return `${payload}.${hmac(token, payload)}`;
}

/** The grant, if `text` is one signed with `token`, unexpired and of the given access; never verifies against an empty key. */
export function verifyGrant(text: string, token: string | null, access: GrantAccess, now = Date.now()): AccessGrant | null {
  if (!token) return null;
  const [payload, mac, extra] = text.split('.');
  if (!payload || !mac || extra !== undefined || !safeEqual(mac, hmac(token, payload))) return null;
  try {
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString()) as AccessGrant;
    return grant.access === access && typeof grant.volumeId === 'string' && typeof grant.nodeId === 'string' && grant.expiresAt > now
      ? grant
      : null;
  } catch {
    return null;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
