import { describe, expect, it } from 'vitest';
import { checkRange, MAX_IO_BYTES } from '../../storage-node/protocol/block-range.js';

describe('the I/O range rule', () => {
  it('accepts unaligned ranges inside the volume and names the blocks they touch', () => {
    expect(checkRange(4095, 2, 65536)).toEqual({ offset: 4095, length: 2, firstBlock: 0, lastBlock: 1 });
    expect(checkRange(0, 65536, 65536)).toMatchObject({ firstBlock: 0, lastBlock: 15 });
  });

  it('refuses empty, negative, oversized and out-of-bounds ranges', () => {
    expect(checkRange(0, 0, 65536)).toMatch(/positive/);
    expect(checkRange(-1, 10, 65536)).toMatch(/non-negative/);
    expect(checkRange(0, MAX_IO_BYTES + 1, 2 * MAX_IO_BYTES)).toMatch(/at most/);
    expect(checkRange(65530, 10, 65536)).toMatch(/past the volume size/);
    expect(checkRange(0.5, 10, 65536)).toMatch(/integer/);
  });
});
