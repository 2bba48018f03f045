// The read buffer pool: a buffer is handed out again only after it was released, every buffer has
// exactly the size asked for, and what the pool keeps free stays within its bound.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../storage-node/store/buffer-pool.js';

const MAX_FREE = 64 * 1024;
const MAX_BYTES = 32 * 1024;

type Op =
  { kind: 'take'; n: number } | { kind: 'release'; pick: number } | { kind: 'again'; pick: number } | { kind: 'foreign'; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('take' as const), n: fc.integer({ min: 1, max: MAX_BYTES + 4096 }) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('again' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('foreign' as const), n: fc.integer({ min: 1, max: MAX_BYTES }) }),
);

describe('BufferPool', () => {
  it('never hands out a buffer still held, sizes are exact, free bytes stay bounded', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const pool = new BufferPool(MAX_FREE, MAX_BYTES);
        const held: Buffer[] = [];
        const released: Buffer[] = [];
        for (const o of ops) {
          if (o.kind === 'take') {
            const buf = pool.take(o.n);
            expect(buf.length).toBe(o.n);
            // No buffer held shares memory with the new one: each backing buffer is its own ArrayBuffer.
            for (const h of held) expect(h.buffer).not.toBe(buf.buffer);
            held.push(buf);
          } else if (o.kind === 'release' && held.length > 0) {
            const [buf] = held.splice(o.pick % held.length, 1);
            pool.release(buf!);
            released.push(buf!);
          } else if (o.kind === 'again' && released.length > 0) {
            pool.release(released[o.pick % released.length]!); // a second release: ignored
          } else if (o.kind === 'foreign') {
            pool.release(Buffer.allocUnsafeSlow(o.n)); // never handed out: ignored
          }
          expect(pool.freeBytes).toBeLessThanOrEqual(MAX_FREE);
          expect(pool.freeBytes).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('reuses a released buffer for a take of the same size class', () => {
    const pool = new BufferPool();
    const first = pool.take(4096);
    pool.release(first);
    const second = pool.take(3000);
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(3000);
    expect(pool.freeBytes).toBe(0);
  });

  it('a double release does not put one buffer on the free list twice', () => {
    const pool = new BufferPool();
    const buf = pool.take(8192);
    pool.release(buf);
    pool.release(buf);
    expect(pool.freeBytes).toBe(8192);
    const a = pool.take(8192);
    const b = pool.take(8192);
    expect(a.buffer).not.toBe(b.buffer);
  });

  it('hands out reads larger than its largest class unpooled', () => {
    const pool = new BufferPool(MAX_FREE, MAX_BYTES);
    const big = pool.take(MAX_BYTES + 1);
    expect(big.length).toBe(MAX_BYTES + 1);
    pool.release(big);
    expect(pool.freeBytes).toBe(0);
  });
});
