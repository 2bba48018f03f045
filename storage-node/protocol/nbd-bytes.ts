// Shared pieces of the NBD codec: the bytes received but not yet decoded, payloads kept as the
// chunks they arrived in, and the error values every decoder returns instead of throwing.

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
 * How a decoder hands over a payload (a WRITE's, a READ reply's data): one Buffer (a copy when
 * it arrived in several chunks), or the chunks it arrived in — subarrays of what the socket
 * delivered, never a copy (the attach endpoint forwards them as they are).
 */
export type PayloadForm = 'buffer' | 'chunks';
export type Payload<F extends PayloadForm> = F extends 'chunks' ? Buffer[] : Buffer;

/**
 * Bytes received and not yet decoded, kept as the chunks TCP delivered: taking a 4 MiB write
 * payload copies it at most once (as one Buffer), or not at all (as its chunks).
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

  /** The first `n` bytes without consuming them (a copy only when they span chunks), or null when fewer have arrived. */
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

  /** Consumes the first `n` bytes and returns them as subarrays of the chunks they arrived in, or null. */
  takeChunks(n: number): Buffer[] | null {
    if (n > this.length) return null;
    const out: Buffer[] = [];
    this.consume(n, (chunk, from, to) => out.push(chunk.subarray(from, to)));
    return out;
  }

  /** `n` bytes as `form` asks (the caller checked that they have arrived). */
  takeAs<F extends PayloadForm>(n: number, form: F): Payload<F> {
    return (form === 'chunks' ? this.takeChunks(n) : this.take(n)) as Payload<F>;
  }

  /** Hands over everything left (e.g. to the next phase's decoder). */
  takeAll(): Buffer {
    return this.take(this.length) ?? Buffer.alloc(0);
  }

  skip(n: number): void {
    this.consume(n, () => undefined);
  }

  /** Drops the first `n` bytes, showing each chunk's part of them to `visit`. */
  private consume(n: number, visit: (chunk: Buffer, from: number, to: number) => void): void {
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.head;
      if (n < left) {
        visit(first, this.head, this.head + n);
        this.head += n;
        return;
      }
      visit(first, this.head, first.length);
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }
}

/** Bytes kept as a list of chunks (subarrays of what arrived): their total length. */
export function chunksLength(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** Bytes `from`..`to` of a chunk list, as subarrays of its chunks (no copy). */
export function sliceChunks(chunks: readonly Buffer[], from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of chunks) {
    const start = Math.max(from - at, 0);
    const end = Math.min(to - at, c.length);
    if (start < end) out.push(c.subarray(start, end));
    at += c.length;
    if (at >= to) break;
  }
  return out;
}

/** A chunk list as one Buffer: the chunk itself when there is one, else a copy. */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, chunksLength(chunks));
}
