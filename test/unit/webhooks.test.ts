// The webhook signature a receiver verifies, and the retry schedule.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelayMs, signWebhook, verifyWebhook } from '../../common/webhooks.js';

describe('webhook signature', () => {
  it('is sha256= and the hex HMAC-SHA256 of timestamp "." body under the secret', () => {
    const expected = createHmac('sha256', 'whsec_x').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook('whsec_x', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });

  it('verifies only the same secret, timestamp and body', () => {
    const signature = signWebhook('s1', '100', 'body');
    expect(verifyWebhook('s1', '100', 'body', signature)).toBe(true);
    expect(verifyWebhook('s2', '100', 'body', signature)).toBe(false);
    expect(verifyWebhook('s1', '101', 'body', signature)).toBe(false);
    expect(verifyWebhook('s1', '100', 'body ', signature)).toBe(false);
    expect(verifyWebhook('s1', '100', 'body', 'sha256=00')).toBe(false);
  });
});

describe('webhook retry delay', () => {
  it('doubles from the base, less at most a quarter of jitter', () => {
    expect(retryDelayMs(1, 1000, 600_000, () => 0)).toBe(1000);
    expect(retryDelayMs(2, 1000, 600_000, () => 0)).toBe(2000);
    expect(retryDelayMs(3, 1000, 600_000, () => 0.5)).toBe(3500);
  });

  it('never exceeds the cap, even after many attempts', () => {
    expect(retryDelayMs(1000, 1000, 600_000, () => 0)).toBe(600_000);
  });

  it('grows with every attempt below the cap, whatever the jitter', () => {
    const jitter = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 60_000 }), jitter, jitter, (attempts, base, r1, r2) => {
        const cap = base * 2 ** 40;
        expect(retryDelayMs(attempts + 1, base, cap, () => r2)).toBeGreaterThan(retryDelayMs(attempts, base, cap, () => r1));
      }),
    );
  });
});
