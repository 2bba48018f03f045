// The snapshot store's garbage collection on the filesystem backend: the interleaving property,
// and the two cases it exists for (a chunk reused by a capture in progress; a capture fenced off).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkHash } from '../../common/chunks.js';
import { ObjectSnapshotStore } from '../../snapshot-store/object-store.js';
import { FsObjects } from '../../snapshot-store/objects.js';
import { checkStore, gcProperty, modelCapture } from '../support/gc-property.js';

const dirs: string[] = [];
async function freshDir(): Promise<FsObjects> {
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-gc-'));
  dirs.push(dir);
  return new FsObjects(dir);
}
const fast = { pollMs: 2, maxWaitMs: 5_000 };
const manifestOf = (volumeId: string, snapshotId: string, chunks: string[]) => ({
  snapshotId,
  volumeId,
  parentId: null,
  sizeBytes: 64 * chunks.length,
  chunkBytes: 64,
  chunks,
  epoch: 1,
  writeSeq: 0,
  digest: '0'.repeat(64),
  uploadedChunks: 0,
  createdAt: new Date().toISOString(),
});

describe('snapshot garbage collection (filesystem)', () => {
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('keeps every remaining manifest restorable whatever the interleaving of captures and deletions', async () => {
    await gcProperty(freshDir, Number(process.env.GC_RUNS ?? 25));
  }, 120_000);

  it('never frees a chunk that a capture in progress reused, however long ago it looked (EBS, August 2011)', async () => {
    const objects = await freshDir();
    const store = new ObjectSnapshotStore(objects, fast);
    const s1 = await modelCapture(store, 'v1', 's1', [1, 2]);
    const capture = await store.beginCapture('v1', 's2');
    expect(await capture.reuse(s1.chunks[0]!)).toBe(true);
    // The pass waits for the capture; its manifest, written meanwhile, keeps the chunk.
    const deletion = store.deleteManifest('v1', 's1');
    await new Promise((r) => setTimeout(r, 50));
    expect(await capture.commit(manifestOf('v1', 's2', [s1.chunks[0]!]))).toBe(true);
    await capture.end();
    expect(await deletion).toEqual({ deleted: true, chunksFreed: 1 }); // only the chunk s2 does not name
    await checkStore(objects, store);
  });

  it('a capture declared dead waits for the pass that fenced it, then puts back what it freed', async () => {
    const objects = await freshDir();
    const capturing = new ObjectSnapshotStore(objects, { ...fast, leaseTtlMs: 60_000 });
    const impatient = new ObjectSnapshotStore(objects, { ...fast, leaseTtlMs: 1 }); // sees every lease as lapsed
    const s1 = await modelCapture(capturing, 'v1', 's1', [7]);
    const capture = await capturing.beginCapture('v1', 's2');
    expect(await capture.reuse(s1.chunks[0]!)).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await impatient.deleteManifest('v1', 's1')).toEqual({ deleted: true, chunksFreed: 1 });
    expect(await capture.commit(manifestOf('v1', 's2', s1.chunks))).toBe(false);
    const bytes = Buffer.from('chunk-7'.padEnd(64, '.'));
    expect(chunkHash(bytes)).toBe(s1.chunks[0]);
    await capture.put(s1.chunks[0]!, bytes);
    await capture.end();
    await checkStore(objects, capturing);
  });

  it('a collection whose collector died is abandoned, and no capture waits on it for ever', async () => {
    const objects = await freshDir();
    const store = new ObjectSnapshotStore(objects, { ...fast, leaseTtlMs: 200 });
    const s1 = await modelCapture(store, 'v1', 's1', [3]);
    await objects.put('gc/lock', Buffer.from(JSON.stringify({ passId: 'dead', renewedAt: Date.now() })));
    await objects.put('gc/pass', Buffer.from(JSON.stringify({ passId: 'dead', waitingFor: [] })));
    await objects.put(`gc/condemned/${s1.chunks[0]}`, Buffer.from('"dead"'));
    const s2 = await modelCapture(store, 'v1', 's2', [3]); // waits out the dead lock's TTL, then abandons its pass
    expect(s2.chunks).toEqual(s1.chunks);
    await checkStore(objects, store);
  });
});
