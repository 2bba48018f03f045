// Deterministic bytes from a seed (xorshift32): what a case writes is a function of the case.
import type { ByteSpec } from './cases.js';

export function expand(spec: ByteSpec): Buffer {
  const out = Buffer.alloc(spec.length);
  let x = (spec.seed ^ 0x2545f491) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
