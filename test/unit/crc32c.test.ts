// CRC-32C against the test vectors of RFC 3720, appendix B.4, and a bit-at-a-time reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cPortable } from '../../storage-node/protocol/crc32c.js';

function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe.each([
  ['crc32c (native when available)', crc32c],
  ['crc32c, portable slicing-by-8', crc32cPortable],
])('%s', (_name, crc) => {
  it('matches RFC 3720 B.4: 32 bytes of zeros, of ones, ascending and descending', () => {
    expect(crc(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('equals the bit-at-a-time definition for any bytes and any sub-range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (data, a, b) => {
        const start = data.length ? a % data.length : 0;
        const end = start + (data.length - start ? b % (data.length - start + 1) : 0);
        expect(crc(data, start, end)).toBe(reference(data.subarray(start, end)));
      }),
    );
  });
});
