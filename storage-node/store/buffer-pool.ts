// Read buffers for NBD replies, reused instead of left to the GC: every 4 KiB and larger read was a
// fresh ArrayBuffer (Node's own pool serves only allocations under 4 KiB). Size classes are powers
// of two from 4 KiB to MAX_IO_BYTES, each backing buffer its own ArrayBuffer. A buffer is reused
// only after its holder released it; the NBD server releases a reply's data in the callback of
// the socket write that carried it. Release is optional: a buffer never released is garbage
// collected, so callers that keep or hand on what they read need not change.
import { MAX_IO_BYTES } from '../protocol/block-range.js';

const MIN_CLASS_BYTES = 4096;
const DEFAULT_MAX_FREE_BYTES = 64 * 1024 * 1024;

export class BufferPool {
  /** Free backing buffers per size class (keyed by the class's byte size). */
  private readonly free = new Map<number, Buffer[]>();
  /** What was handed out and not yet released: the view given, to its backing buffer. */
  private readonly out = new WeakMap<Buffer, Buffer>();
  private freeTotal = 0;

  constructor(
    readonly maxFreeBytes = DEFAULT_MAX_FREE_BYTES,
    readonly maxBytes = MAX_IO_BYTES,
  ) {}

  /** Bytes held in free buffers, never more than maxFreeBytes. */
  get freeBytes(): number {
    return this.freeTotal;
  }

  /** A buffer of exactly n bytes, not zeroed. Past the largest class: a plain, unpooled one. */
  take(n: number): Buffer {
    if (n > this.maxBytes) return Buffer.allocUnsafeSlow(n);
    const size = classOf(n);
    const backing = this.free.get(size)?.pop();
    if (backing) this.freeTotal -= size;
    const buf = backing ?? Buffer.allocUnsafeSlow(size);
    const view = buf.subarray(0, n);
    this.out.set(view, buf);
    return view;
  }

  /** Gives back a buffer take returned. A second release, or a buffer not from take, is ignored. */
  release(view: Buffer): void {
    const backing = this.out.get(view);
    if (!backing) return;
    this.out.delete(view);
    if (this.freeTotal + backing.length > this.maxFreeBytes) return; // dropped: the GC has it
    let list = this.free.get(backing.length);
    if (!list) this.free.set(backing.length, (list = []));
    list.push(backing);
    this.freeTotal += backing.length;
  }
}

function classOf(n: number): number {
  let size = MIN_CLASS_BYTES;
  while (size < n) size *= 2;
  return size;
}

/** The node's pool for block reads (Volume.read takes from it, the NBD server releases to it). */
export const readBuffers = new BufferPool();
