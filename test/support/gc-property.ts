// The garbage collector's property, for any object backend: captures and deletions interleaved
// in an order fast-check chooses (every object request is a scheduling point) never leave a
// manifest that names a missing or wrong chunk, and a final pass frees every chunk none names.
import fc from 'fast-check';
import { chunkHash } from '../../common/chunks.js';
import type { SnapshotManifest } from '../../snapshot-store/manifest.js';
import { ObjectSnapshotStore } from '../../snapshot-store/object-store.js';
import type { ObjectBackend } from '../../snapshot-store/objects.js';

const CHUNKS = 3;
const bytesOf = (value: number) => Buffer.from(`chunk-${value}`.padEnd(64, '.'));

/**
 * Every request waits for the scheduler's turn, so fast-check explores the interleavings. The
 * scheduler picks only once no request is on the disk or the network (see drive()): otherwise
 * whatever does no I/O would always win the race against what does.
 */
function scheduled(inner: ObjectBackend, s: fc.Scheduler, io: { inFlight: number }): ObjectBackend {
  const turn = <T>(label: string, run: () => Promise<T>) =>
    s.schedule(Promise.resolve(label), label).then(async () => {
      io.inFlight += 1;
      try {
        return await run();
      } finally {
        io.inFlight -= 1;
      }
    });
  return {
    where: inner.where,
    put: (k, b) => turn(`put ${k}`, () => inner.put(k, b)),
    create: (k, b) => turn(`create ${k}`, () => inner.create(k, b)),
    get: (k) => turn(`get ${k}`, () => inner.get(k)),
    exists: (k) => turn(`exists ${k}`, () => inner.exists(k)),
    delete: (k) => turn(`delete ${k}`, () => inner.delete(k)),
    list: (p) => turn(`list ${p}`, () => inner.list(p)),
  };
}

/** Releases one scheduled request at a time, each once every request before it has finished. */
async function drive(s: fc.Scheduler, io: { inFlight: number }, work: Promise<unknown>): Promise<void> {
  let done = false;
  const finished = work.finally(() => (done = true));
  finished.catch(() => undefined);
  while (!done) {
    await new Promise((r) => setImmediate(r));
    if (io.inFlight > 0) continue;
    if (s.count() > 0) await s.waitOne();
    else await new Promise((r) => setTimeout(r, 1)); // a collector or a capture polling: let its timer fire
  }
  await finished;
}

/** What snapshot-io's captureSnapshot does, on a volume whose chunk i holds `content[i]`. */
export async function modelCapture(
  store: ObjectSnapshotStore,
  volumeId: string,
  snapshotId: string,
  content: number[],
  slow: () => Promise<void> = async () => undefined,
): Promise<SnapshotManifest> {
  const capture = await store.beginCapture(volumeId, snapshotId);
  try {
    const parent = (await store.listManifests(volumeId)).at(-1) ?? null;
    const chunks: string[] = [];
    for (const value of content) {
      const hash = chunkHash(bytesOf(value));
      if (!(parent?.chunks.includes(hash) && (await capture.reuse(hash))) && !(await capture.reuse(hash)))
        await capture.put(hash, bytesOf(value));
      chunks.push(hash);
      await slow(); // reading a large volume takes a while: other requests get many turns meanwhile
    }
    const manifest: SnapshotManifest = {
      snapshotId,
      volumeId,
      parentId: parent?.snapshotId ?? null,
      sizeBytes: chunks.length * 64,
      chunkBytes: 64,
      chunks,
      epoch: 1,
      writeSeq: 0,
      digest: '0'.repeat(64),
      uploadedChunks: 0,
      createdAt: new Date().toISOString(),
    };
    if (!(await capture.commit(manifest))) {
      for (const value of content) await capture.put(chunkHash(bytesOf(value)), bytesOf(value));
    }
    return manifest;
  } finally {
    await capture.end();
  }
}

/** Every manifest restorable; no lease, marker or lock left; after one more pass, no chunk unnamed. */
export async function checkStore(objects: ObjectBackend, store: ObjectSnapshotStore): Promise<void> {
  const named = new Set<string>();
  for (const key of await objects.list('manifests/')) {
    const [, volumeId, file] = key.split('/');
    const m = (await store.getManifest(volumeId!, file!.slice(0, -5)))!;
    for (const c of m.chunks) {
      await store.getChunk(c); // throws when missing or not matching its address
      named.add(c);
    }
  }
  const leftovers = [...(await objects.list('leases/')), ...(await objects.list('gc/condemned/'))];
  if (await objects.exists('gc/lock')) leftovers.push('gc/lock');
  if (leftovers.length) throw new Error(`left behind: ${leftovers.join(', ')}`);
  await store.collectGarbage();
  const stored = (await objects.list('chunks/')).map((k) => k.slice(k.lastIndexOf('/') + 1));
  const unnamed = stored.filter((c) => !named.has(c));
  if (unnamed.length) throw new Error(`${unnamed.length} chunks no manifest names survived a pass`);
}

type Op =
  { kind: 'capture'; volume: number; writes: [number, number][]; slowness: number } | { kind: 'delete'; volume: number; nth: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('capture' as const),
    volume: fc.nat(1),
    slowness: fc.nat(12),
    writes: fc.array(fc.tuple(fc.nat(CHUNKS - 1), fc.nat(30)), { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), volume: fc.nat(1), nth: fc.nat(1) }),
);

/** One property run on a fresh backend from `fresh` (a directory, or a prefix in a bucket). */
export function gcProperty(fresh: () => Promise<ObjectBackend>, numRuns: number): Promise<void> {
  return fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 2, maxLength: 7 }), async (s, ops) => {
      const objects = await fresh();
      const gc = { leaseTtlMs: 30_000, maxWaitMs: 20_000, pollMs: 2 };
      const io = { inFlight: 0 };
      const store = new ObjectSnapshotStore(scheduled(objects, s, io), gc);
      // Each volume starts with a snapshot whose chunks later captures reuse while deletions run.
      const setup = new ObjectSnapshotStore(objects, gc);
      const contents = [
        [0, 1, 2],
        [2, 3, 0],
      ];
      for (const [v, content] of contents.entries()) await modelCapture(setup, `v${v}`, 's0', content);
      let next = 1;
      const run = ops.map(async (op) => {
        if (op.kind === 'capture') {
          const content = contents[op.volume]!;
          for (const [c, value] of op.writes) content[c] = value;
          const slow = async () => {
            for (let i = 0; i < op.slowness; i++) await s.schedule(Promise.resolve(), 'capture reads its volume');
          };
          await modelCapture(store, `v${op.volume}`, `s${next++}`, [...content], slow);
        } else {
          const ids = (await store.listManifests(`v${op.volume}`)).map((m) => m.snapshotId);
          if (ids.length) await store.deleteManifest(`v${op.volume}`, ids.at(-1 - (op.nth % ids.length))!); // newest first: its chunks are the ones captures reuse
        }
      });
      await drive(s, io, Promise.all(run));
      await checkStore(objects, setup);
    }),
    { numRuns },
  );
}
