// Garbage collection of chunks: mark-and-sweep over manifests, fenced against captures in
// progress by leases, so a chunk that a snapshot being taken will name is never freed (the EBS
// August 2011 snapshot-reference failure). It never lists the chunks: a deleted manifest leaves
// a pending record naming its chunks, and only those are candidates.
//
// One pass, under the lock gc/lock (created only if absent):
//  1. candidates = the chunks of every pending record;
//  2. gc/pass = {passId, waitingFor: null}; a condemned marker gc/condemned/<hash> per candidate;
//  3. the leases held now (leases/<captureId>) are written into gc/pass.waitingFor;
//  4. wait until each of those captures ends (its manifest is then written) or is declared dead
//     (lease not renewed within leaseTtlMs: the lease is deleted, which is the fence);
//  5. mark: read every manifest; sweep: delete each candidate no manifest names;
//  6. drop the markers, the pass and the pending records whose manifest is gone.
// A capture holds a lease from before its first look at the store. Before it names or writes a
// chunk it checks for a marker: a capture that was listed in step 3 goes on (the pass waits
// for it and marks its manifest); any other waits for the pass to end, since its lease came after
// the markers. A capture that finds its lease gone when its manifest is written (declared dead)
// waits for that pass to end and re-uploads what is missing (its volume's writes are still held).
// Residual assumption: a process paused for longer than a lease's TTL between two requests
// (leases and the lock carry wall-clock renewal times; clocks agree well within the TTL).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectBackend } from './objects.js';

export interface GcOptions {
  /** A capture or a collector that has not renewed its lease/lock for this long is taken for dead. */
  leaseTtlMs: number;
  /** How long a pass waits for the captures in progress before giving up (deleting nothing). */
  maxWaitMs: number;
  pollMs: number;
}

export const DEFAULT_GC: GcOptions = { leaseTtlMs: 60_000, maxWaitMs: 30_000, pollMs: 100 };

export const chunkKey = (hash: string) => `chunks/${hash.slice(0, 2)}/${hash}`;
export const manifestKey = (volumeId: string, snapshotId: string) => `manifests/${volumeId}/${snapshotId}.json`;
export const pendingKey = (volumeId: string, snapshotId: string) => `gc/pending/${volumeId}/${snapshotId}.json`;
const LOCK = 'gc/lock';
const PASS = 'gc/pass';
const markerKey = (hash: string) => `gc/condemned/${hash}`;
export const leaseKey = (captureId: string) => `leases/${captureId}`;

interface Renewable {
  renewedAt: number;
}
interface Pass {
  passId: string;
  waitingFor: string[] | null;
}

export async function readJson<T>(b: ObjectBackend, key: string): Promise<T | null> {
  const bytes = await b.get(key);
  return bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as T);
}
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const stale = (r: Renewable | null, ttl: number) => r !== null && r.renewedAt + ttl < Date.now();

/** Runs one pass; 0 when another pass holds the lock or captures did not end in time. */
export async function collectGarbage(b: ObjectBackend, opts: GcOptions): Promise<number> {
  const passId = randomBytes(8).toString('hex');
  if (!(await acquireLock(b, passId, opts))) return 0;
  let renewing: Promise<unknown> = Promise.resolve();
  const beat = setInterval(
    () => (renewing = b.put(LOCK, json({ passId, renewedAt: Date.now() })).catch(() => undefined)),
    opts.leaseTtlMs / 4,
  );
  beat.unref();
  let ok = false;
  try {
    const freed = await pass(b, passId, opts);
    ok = true;
    return freed;
  } finally {
    clearInterval(beat);
    await renewing; // a renewal landing after the delete would hold the lock until its TTL
    // A pass that failed half-way leaves no marker behind for a capture to wait on.
    if ((await readJson<{ passId: string }>(b, LOCK))?.passId === passId) await (ok ? b.delete(LOCK) : abandonPass(b));
  }
}

async function acquireLock(b: ObjectBackend, passId: string, opts: GcOptions): Promise<boolean> {
  const lock = json({ passId, renewedAt: Date.now() });
  if (await b.create(LOCK, lock)) return true;
  if (!stale(await readJson<Renewable>(b, LOCK), opts.leaseTtlMs)) return false;
  await abandonPass(b); // its collector died mid-pass
  return b.create(LOCK, lock);
}

/** Undoes a pass that deleted nothing more: markers first, so no capture waits on them. */
export async function abandonPass(b: ObjectBackend): Promise<void> {
  for (const key of await b.list('gc/condemned/')) await b.delete(key);
  await b.delete(PASS);
  await b.delete(LOCK);
}

async function pass(b: ObjectBackend, passId: string, opts: GcOptions): Promise<number> {
  const pendingKeys = await b.list('gc/pending/');
  if (pendingKeys.length === 0) return 0;
  const candidates = new Set<string>();
  for (const key of pendingKeys) for (const c of (await readJson<{ chunks: string[] }>(b, key))?.chunks ?? []) candidates.add(c);
  await b.put(PASS, json({ passId, waitingFor: null } satisfies Pass));
  for (const hash of candidates) await b.put(markerKey(hash), json(passId));
  const leases = (await b.list('leases/')).map((k) => k.slice('leases/'.length));
  await b.put(PASS, json({ passId, waitingFor: leases } satisfies Pass));
  if (!(await waitForCaptures(b, leases, opts))) {
    await abandonPass(b);
    return 0;
  }
  const manifests = new Set(await b.list('manifests/'));
  const named = new Set<string>();
  for (const key of manifests) {
    for (const c of (await readJson<{ chunks: string[] }>(b, key))?.chunks ?? []) if (candidates.has(c)) named.add(c);
  }
  let freed = 0;
  for (const hash of candidates) {
    if (named.has(hash) || !(await b.exists(chunkKey(hash)))) continue;
    if ((await readJson<{ passId: string }>(b, LOCK))?.passId !== passId)
      throw new Error(`garbage collection ${passId} lost its lock in ${b.where}`);
    await b.delete(chunkKey(hash));
    freed += 1;
  }
  for (const key of pendingKeys) {
    if (!manifests.has(`manifests/${key.slice('gc/pending/'.length)}`)) await b.delete(key);
  }
  for (const hash of candidates) await b.delete(markerKey(hash));
  await b.delete(PASS);
  return freed;
}

/** True once every listed capture has ended or been declared dead (its lease deleted). */
async function waitForCaptures(b: ObjectBackend, ids: string[], opts: GcOptions): Promise<boolean> {
  const deadline = Date.now() + opts.maxWaitMs;
  let waiting = ids;
  for (;;) {
    const still: string[] = [];
    for (const id of waiting) {
      const lease = await readJson<Renewable>(b, leaseKey(id));
      if (lease === null) continue;
      if (stale(lease, opts.leaseTtlMs)) await b.delete(leaseKey(id));
      else still.push(id);
    }
    waiting = still;
    if (waiting.length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(opts.pollMs);
  }
}

/**
 * A snapshot being taken: holds a lease from before its first look at the store until it ends.
 * Every chunk its manifest names goes through reuse() or put() first.
 */
export class Capture {
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly b: ObjectBackend,
    readonly id: string,
    private readonly opts: GcOptions,
  ) {}

  static async begin(b: ObjectBackend, name: string, opts: GcOptions): Promise<Capture> {
    const capture = new Capture(b, `${name}.${randomBytes(6).toString('hex')}`, opts);
    await capture.renew();
    capture.timer = setInterval(() => (capture.renewing = capture.renew().catch(() => undefined)), opts.leaseTtlMs / 4);
    capture.timer.unref();
    return capture;
  }

  private renew(): Promise<void> {
    return this.b.put(leaseKey(this.id), json({ renewedAt: Date.now() }));
  }

  /** True when the chunk is stored and this capture may name it. */
  async reuse(hash: string): Promise<boolean> {
    await this.clearOf(hash);
    return this.b.exists(chunkKey(hash));
  }

  /** Stores a chunk under its address (idempotent); durable when the promise resolves. */
  async put(hash: string, bytes: Uint8Array): Promise<void> {
    await this.clearOf(hash);
    if (!(await this.b.exists(chunkKey(hash)))) await this.b.put(chunkKey(hash), bytes);
  }

  /**
   * Writes the manifest. False when a pass declared this capture dead meanwhile and may have
   * freed a chunk it names: once that pass has ended, the caller puts every missing chunk again.
   */
  async commit(manifestKeyName: string, manifest: unknown): Promise<boolean> {
    await this.b.put(manifestKeyName, json(manifest));
    if (await this.b.exists(leaseKey(this.id))) return true;
    const killer = await readJson<Pass>(this.b, PASS); // null: that pass has ended already
    if (killer) await this.until(async () => (await readJson<Pass>(this.b, PASS))?.passId !== killer.passId, 'the pass that fenced it');
    await this.renew();
    return false;
  }

  async end(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing; // else a renewal could land after the delete and outlive the capture
    await this.b.delete(leaseKey(this.id));
  }

  /** Waits while the chunk is condemned by a pass that does not wait for this capture. */
  private async clearOf(hash: string): Promise<void> {
    await this.until(
      async () => {
        if (!(await this.b.exists(markerKey(hash)))) return true;
        const pass = await readJson<Pass>(this.b, PASS);
        if (pass?.waitingFor?.includes(this.id)) return true;
        if (stale(await readJson<Renewable>(this.b, LOCK), this.opts.leaseTtlMs)) await abandonPass(this.b);
        return false;
      },
      `chunk ${hash.slice(0, 12)} condemned by a garbage collection`,
    );
  }

  private async until(done: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + this.opts.maxWaitMs + 2 * this.opts.leaseTtlMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`capture ${this.id} in ${this.b.where}: waited too long for ${what}`);
      await sleep(this.opts.pollMs);
    }
  }
}
