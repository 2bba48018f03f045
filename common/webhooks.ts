// Webhook rules with no I/O: the signature a receiver verifies, the retry schedule, and the
// addresses a webhook may not reach.
import { createHmac } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { safeEqual } from './tokens.js';

export const SIGNATURE_HEADER = 'x-blackstart-signature';
export const TIMESTAMP_HEADER = 'x-blackstart-timestamp';
export const EVENT_ID_HEADER = 'x-blackstart-event-id';

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`: the timestamp is signed so a captured request cannot be replayed later as new. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string): boolean {
  return safeEqual(signature, signWebhook(secret, timestamp, body));
}

/**
 * The wait after the `attempts`-th failed delivery: base × 2^(attempts-1), capped, less up to a
 * quarter at random so receivers that failed together are not retried in lockstep. The jitter
 * stays under the doubling, so each wait below the cap is longer than the one before.
 */
export function retryDelayMs(attempts: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling * (1 - random() / 4));
}

/**
 * Address ranges a webhook may never reach unless an operator allows the host by name: the
 * API's own machine, cloud metadata, private networks. IPv4-mapped and NAT64 forms are refused
 * whole, so no spelling of a forbidden IPv4 address slips through as IPv6.
 */
const FORBIDDEN = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  FORBIDDEN.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  FORBIDDEN.addSubnet(net, bits, 'ipv6');

const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** True when `address` (an IP literal) is loopback, link-local, private, unspecified, multicast or a mapped form of one. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // A BlockList matches IPv4 addresses against ::ffff:0:0/96 too, so mapped forms are told apart here.
  if (family === 6 && MAPPED.check(address, 'ipv6')) return true;
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The hostname of a URL as DNS or an IP literal wants it: IPv6 without its brackets, lower case. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}
