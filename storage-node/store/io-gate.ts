// Per-volume I/O ordering and holding.
// Requests run in arrival order: a write (and any control-plane work) alone, after everything
// before it; reads side by side with other reads, after every write before them. A write's wait
// for durability (group commit) holds neither the next write nor reads, but control-plane work
// runs only once every write before it has settled. While the gate is paused a request is held:
// neither answered nor failed, until the gate opens (then served in order) or the volume is
// deleted (then every held request fails). What one volume may hold is bounded: past the bound
// a new request is refused at once (503, retry later); a request already held is never dropped.
import { NodeError } from '../service/context.js';

export class VolumeDeletedError extends Error {
  constructor(volumeId: string) {
    super(`volume ${volumeId} was deleted on this node`);
    this.name = 'VolumeDeletedError';
  }
}

interface Held {
  release: () => void;
  fail: (err: Error) => void;
  bytes: number;
}

export interface HoldBounds {
  maxHeldRequests: number;
  maxHeldBytes: number;
}

/** Above what a volume's NBD connections can hold (8 × 256 requests, 8 × 64 MiB; see transport/nbd-export.ts) plus HTTP requests. */
export const DEFAULT_HOLD_BOUNDS: HoldBounds = { maxHeldRequests: 4096, maxHeldBytes: 768 * 1024 * 1024 };

/** A request refused because the volume holds as much as it may; the HTTP layer answers Retry-After. */
export class TooManyHeldError extends NodeError {
  readonly retryAfterSeconds = 2;
  constructor(volumeHolds: string) {
    super(503, 'too-many-held', `${volumeHolds}; retry later`);
  }
}

export class IoGate {
  private held: Held[] = [];
  /** Settles when everything admitted so far has. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Settles when the last exclusive operation (and everything before it) has. */
  private exclusiveTail: Promise<unknown> = Promise.resolve();
  /** Settles when every write admitted so far is durable (or failed). */
  private settleTail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private heldBytes = 0;

  constructor(
    private paused: boolean,
    private readonly bounds: HoldBounds = DEFAULT_HOLD_BOUNDS,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  get heldCount(): number {
    return this.held.length;
  }

  get heldByteCount(): number {
    return this.heldBytes;
  }

  pause(): void {
    this.paused = true;
  }

  open(): void {
    this.paused = false;
    const waiting = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of waiting) h.release();
  }

  /** Fails every held and future request; used when the volume is deleted. */
  close(err: Error): void {
    this.failure = err;
    const waiting = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of waiting) h.fail(err);
  }

  /**
   * Customer I/O of `bytes` (its body or answer): waits while paused, then runs in order —
   * `shared` (a read) beside other reads, otherwise alone.
   */
  async admit<T>(fn: () => Promise<T>, bytes = 0, mode: 'shared' | 'exclusive' = 'exclusive'): Promise<T> {
    const held = this.holdIfPaused(bytes);
    if (held) await held; // not awaited otherwise: an open gate chains the request at once, in call order
    return mode === 'shared' ? this.shared(fn) : this.serial(fn);
  }

  /**
   * A customer write: `apply` runs alone and in order; `settle` (waiting until what it applied is
   * durable on every copy) runs after it, beside the next writes and reads.
   */
  async admitWrite<T>(apply: () => Promise<T>, settle: (applied: T) => Promise<void>, bytes: number): Promise<T> {
    const held = this.holdIfPaused(bytes);
    if (held) await held;
    const applied = this.chainExclusive(this.tail, apply);
    const settled = applied.then(settle);
    this.settleTail = Promise.all([this.settleTail, settled.catch(() => undefined)]);
    await settled;
    return applied;
  }

  /** While paused: the request's place among the held ones, settled when the gate opens. */
  private holdIfPaused(bytes: number): Promise<void> | null {
    if (this.failure) throw this.failure;
    if (!this.paused) return null;
    this.checkRoom(bytes);
    this.heldBytes += bytes;
    return new Promise<void>((release, fail) => this.held.push({ release, fail, bytes }));
  }

  private checkRoom(bytes: number): void {
    const { maxHeldRequests, maxHeldBytes } = this.bounds;
    if (this.held.length >= maxHeldRequests) throw new TooManyHeldError(`the volume holds ${this.held.length} requests, its bound`);
    if (this.heldBytes + bytes > maxHeldBytes)
      throw new TooManyHeldError(`the volume holds ${this.heldBytes} bytes of requests; the bound is ${maxHeldBytes}`);
  }

  /** Control-plane and replication work: ordered with I/O, alone, after every earlier write settled; never held. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.chainExclusive(Promise.all([this.tail, this.settleTail]), fn);
  }

  private chainExclusive<T>(after: Promise<unknown>, fn: () => Promise<T>): Promise<T> {
    const run = after.then(() => this.run(fn));
    this.tail = run.catch(() => undefined);
    this.exclusiveTail = this.tail;
    return run;
  }

  /** After every exclusive operation before it, beside other shared ones; the next exclusive one waits for it. */
  private shared<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(() => this.run(fn));
    this.tail = Promise.all([this.tail, run.catch(() => undefined)]);
    return run;
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    return fn();
  }
}
