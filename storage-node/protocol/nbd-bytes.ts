// Shared pieces of the NBD codec: the bytes received but not yet decoded, and the error values
// every decoder returns instead of throwing.

/** The stream can no longer be trusted (bad magic, oversize payload, truncation): close it. */
export interface NbdFatal {
  type: 'fatal';
  code: 'bad-magic' | 'bad-client-flags' | 'too-long' | 'truncated' | 'bad-reply' | 'unknown-handle';
  message: string;
}

/** A well-framed option the server refuses; answer `reply` (an NBD_REP_ERR_*) and go on. */
export interface OptionError {
  type: 'option-error';
  code: 'unknown-option' | 'bad-option-data';
  option: number;
  reply: number;
  message: string;
}

/** A well-framed request the server refuses; answer `errno` for `handle` and go on. */
export interface RequestError {
  type: 'request-error';
  code: 'unknown-command' | 'bad-flags' | 'out-of-range' | 'too-long';
  command: number;
  handle: bigint;
  errno: number;
  message: string;
}

export const fatal = (code: NbdFatal['code'], message: string): NbdFatal => ({ type: 'fatal', code, message });

/**
 * Bytes received and not yet decoded, kept as the chunks TCP delivered: taking a 4 MiB write
 * payload copies it once, not once per chunk.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.length += chunk.length;
  }

  /** The first `n` bytes without consuming them, or null when fewer have arrived. */
  peek(n: number): Buffer | null {
    if (n > this.length) return null;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (let i = 0; filled < n; i++) {
      const chunk = this.chunks[i]!;
      const from = i === 0 ? this.head : 0;
      filled += chunk.copy(out, filled, from, Math.min(chunk.length, from + n - filled));
    }
    return out;
  }

  /** Consumes and returns the first `n` bytes (a copy when they span chunks), or null. */
  take(n: number): Buffer | null {
    const out = this.peek(n);
    if (out) this.skip(n);
    return out;
  }

  /** Hands over everything left (e.g. to the next phase's decoder). */
  takeAll(): Buffer {
    return this.take(this.length) ?? Buffer.alloc(0);
  }

  private skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }
}
