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
 * The token a primary presents to mirror writes to this node: accepted on the mirror endpoint
 * only, so a primary never holds credentials that could act as its secondary.
 */
export function mirrorToken(clusterSecret: string, nodeId: string): string {
  return hmac(clusterSecret, `mirror:${nodeId}`);
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

export interface ReviewGrant {
  volumeId: string;
  nodeId: string;
  expiresAt: number;
}

/** A read-only review grant for one volume on one node, signed with that node's token. */
export function signReviewGrant(grant: ReviewGrant, token: string): string {
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  return `${payload}.${hmac(token, payload)}`;
}

export function verifyReviewGrant(text: string, token: string, now = Date.now()): ReviewGrant | null {
  const [payload, mac] = text.split('.');
  if (!payload || !mac || !safeEqual(mac, hmac(token, payload))) return null;
  try {
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString()) as ReviewGrant;
    return grant.expiresAt > now ? grant : null;
  } catch {
    return null;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
