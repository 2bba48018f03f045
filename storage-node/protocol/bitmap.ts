// A fixed-size bit set over block indices, stored as bytes (bit i = byte i>>3, bit i&7).

export class Bitmap {
  constructor(readonly bytes: Uint8Array) {}

  static forBlocks(blocks: number): Bitmap {
    return new Bitmap(new Uint8Array(Math.ceil(blocks / 8)));
  }

  get(i: number): boolean {
    return ((this.bytes[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }

  set(i: number): void {
    this.bytes[i >> 3]! |= 1 << (i & 7);
  }

  /** True when any bit in [first, last] is set. */
  anyInRange(first: number, last: number): boolean {
    for (let i = first; i <= last; i++) {
      if ((i & 7) === 0 && i + 7 <= last && this.bytes[i >> 3] === 0) {
        i += 7;
        continue;
      }
      if (this.get(i)) return true;
    }
    return false;
  }

  count(): number {
    let n = 0;
    for (const b of this.bytes) for (let v = b; v; v &= v - 1) n++;
    return n;
  }

  /** Byte offset and length covering blocks [first, last], for a partial write-back. */
  static byteSpan(first: number, last: number): { offset: number; length: number } {
    return { offset: first >> 3, length: (last >> 3) - (first >> 3) + 1 };
  }
}
