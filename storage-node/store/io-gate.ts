// Per-volume I/O ordering and holding.
// Requests run one at a time in arrival order. While the gate is paused a request is held:
// neither answered nor failed, until the gate opens (then served in order) or the volume is
// deleted (then every held request fails).

export class VolumeDeletedError extends Error {
  constructor(volumeId: string) {
    super(`volume ${volumeId} was deleted on this node`);
    this.name = 'VolumeDeletedError';
  }
}

interface Held {
  release: () => void;
  fail: (err: Error) => void;
}

export class IoGate {
  private held: Held[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;

  constructor(private paused: boolean) {}

  get isPaused(): boolean {
    return this.paused;
  }

  get heldCount(): number {
    return this.held.length;
  }

  pause(): void {
    this.paused = true;
  }

  open(): void {
    this.paused = false;
    const waiting = this.held;
    this.held = [];
    for (const h of waiting) h.release();
  }

  /** Fails every held and future request; used when the volume is deleted. */
  close(err: Error): void {
    this.failure = err;
    const waiting = this.held;
    this.held = [];
    for (const h of waiting) h.fail(err);
  }

  /** Customer I/O: waits while paused, then runs in order with every other request. */
  async admit<T>(fn: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.paused) {
      await new Promise<void>((release, fail) => this.held.push({ release, fail }));
    }
    return this.serial(fn);
  }

  /** Control-plane and replication work: ordered with I/O, never held. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.failure) throw this.failure;
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
