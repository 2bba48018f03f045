// Webhook rules with no I/O: the signature a receiver verifies, and the retry schedule.
import { createHmac } from 'node:crypto';
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
