// Keeping a few store operations in flight while the next chunk is read or written: a snapshot's
// uploads (each one an fsync) and a hydration's chunk fetches wait on the disk far longer than
// they use the CPU, so doing them one at a time leaves both idle.

/** Yields `fetch(0) … fetch(count - 1)` in order, with up to `depth` of them started ahead. */
export async function* fetchAhead<T>(count: number, depth: number, fetch: (i: number) => Promise<T>): AsyncGenerator<T> {
  const started: Promise<T>[] = [];
  const start = (i: number) => {
    const p = fetch(i);
    p.catch(() => undefined); // observed here too: a consumer that stops early leaves no unhandled rejection
    started[i] = p;
  };
  for (let i = 0; i < Math.min(count, depth); i++) start(i);
  for (let i = 0; i < count; i++) {
    if (i + depth < count) start(i + depth);
    const value = await started[i]!;
    delete started[i];
    yield value;
  }
}

/**
 * Runs jobs, each named by a key (a chunk address), at most `limit` at once and each key once.
 * `add` waits while the limit is reached; the first failure is thrown by `add` or `drain`, but
 * only once every job in flight has settled, so nothing outlives the caller's error handling.
 */
export class BoundedJobs {
  private readonly seen = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {}

  async add(key: string, job: () => Promise<void>): Promise<void> {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const run: Promise<void> = job()
      .catch((error: unknown) => void (this.failure ??= { error }))
      .finally(() => this.running.delete(run));
    this.running.add(run);
    while (this.running.size >= this.limit && !this.failure) await Promise.race(this.running);
    if (this.failure) await this.drain();
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }
}
