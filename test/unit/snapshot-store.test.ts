// Snapshots and merge-restore on real files: a volume, its snapshot store, and the merge. The
// same tests run against both backends: a directory, and a real S3 server (versitygw).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { startS3Server, type S3Server } from '../../cluster/s3-server.js';
import { FsSnapshotStore } from '../../snapshot-store/filesystem.js';
import { ObjectSnapshotStore } from '../../snapshot-store/object-store.js';
import { S3Objects, parseS3Url, s3ClientFromEnv } from '../../snapshot-store/s3.js';
import { checkRange } from '../../storage-node/protocol/block-range.js';
import { mergeRestore } from '../../storage-node/store/merge.js';
import { captureSnapshot, hydrateFromSnapshot } from '../../storage-node/store/snapshot-io.js';
import { Volume, type VolumeMeta } from '../../storage-node/store/volume.js';

const SIZE = 8 * CHUNK_BYTES;
const meta = (volumeId: string): VolumeMeta => ({
  volumeId,
  sizeBytes: SIZE,
  role: 'primary',
  epoch: 1,
  peer: null,
  ioState: 'enabled',
  mode: 'normal',
  createdAt: 'now',
});
const span = (offset: number, length: number) => checkRange(offset, length, SIZE) as Exclude<ReturnType<typeof checkRange>, string>;
const write = (v: Volume, offset: number, byte: number, length = BLOCK_SIZE) => v.write(span(offset, length), Buffer.alloc(length, byte));

describe.each(['filesystem', 's3'] as const)('the snapshot store (%s) and merge-restore', (backend) => {
  let dir = '';
  let store: ObjectSnapshotStore;
  let s3: S3Server | null = null;
  let s3Dir = '';
  beforeAll(async () => {
    if (backend !== 's3') return;
    s3Dir = await mkdtemp(join(tmpdir(), 'snapshots-s3-'));
    s3 = await startS3Server({ dir: s3Dir, logDir: s3Dir });
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshots-'));
    store = s3
      ? new ObjectSnapshotStore(new S3Objects(s3ClientFromEnv(s3.env), parseS3Url(s3.storeUrl(dir.slice(dir.lastIndexOf('/') + 1)))))
      : new FsSnapshotStore(join(dir, 'store'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('uploads only the chunks written since the parent, and clears the dirty bits after', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta('v1'), false);
    await write(v, 0, 1);
    await write(v, 3 * CHUNK_BYTES, 2);
    const first = await captureSnapshot(v, store, 's1');
    expect(first.parentId).toBeNull();
    expect(v.dirty.count()).toBe(0);
    await write(v, 3 * CHUNK_BYTES + BLOCK_SIZE, 3);
    const second = await captureSnapshot(v, store, 's2');
    expect(second.parentId).toBe('s1');
    expect(second.uploadedChunks).toBe(1);
    expect(second.chunks.filter((c, i) => c !== first.chunks[i])).toHaveLength(1);
    expect(second.digest).toBe(await v.digest());
    expect(second.writeSeq).toBe(3);
    await v.close();
  });

  it('never loses a chunk another snapshot needs when one is deleted', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta('v1'), false);
    await write(v, 0, 1);
    await captureSnapshot(v, store, 's1');
    await write(v, CHUNK_BYTES, 2);
    const s2 = await captureSnapshot(v, store, 's2');
    const { chunksFreed } = await store.deleteManifest('v1', 's1');
    expect(chunksFreed).toBe(0); // s2 still names every chunk s1 had
    const copy = await Volume.create(join(dir, 'v2'), meta('v2'), false);
    await hydrateFromSnapshot(copy, store, s2);
    expect(await copy.digest()).toBe(s2.digest);
    await Promise.all([v.close(), copy.close()]);
  });

  it('merges the base snapshot with the blocks written since, repairing bad blocks from a peer or the base', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta('v1'), false);
    await write(v, 0, 1, 2 * BLOCK_SIZE);
    const base = await captureSnapshot(v, store, 's1');
    await write(v, 2 * BLOCK_SIZE, 2); // written since: kept
    await write(v, 3 * BLOCK_SIZE, 3); // written since, then torn: a peer has it
    const expected = await v.read(span(0, 4 * BLOCK_SIZE));
    await v.close();
    const { open } = await import('node:fs/promises');
    const file = await open(join(dir, 'v1', 'data'), 'r+');
    await file.write(Buffer.alloc(16, 0xee), 0, 16, 100); // block 0: bit rot in a block not written since
    await file.write(Buffer.alloc(16, 0xee), 0, 16, 3 * BLOCK_SIZE + 5); // block 3: torn
    await file.close();
    const reopened = await Volume.open(join(dir, 'v1'), false);
    const scan = await reopened.verify();
    expect(scan.badBlocks).toEqual([0, 3]);
    const merged = await mergeRestore(reopened, store, base, scan, new Map([[3, expected.subarray(3 * BLOCK_SIZE)]]));
    expect(merged).toMatchObject({ badBlocks: [], repairedFromPeer: 1, repairedFromSnapshot: 1 });
    expect((await reopened.read(span(0, 4 * BLOCK_SIZE))).equals(expected)).toBe(true);
    expect((await reopened.verify()).digest).toBe(merged.digest);
    await reopened.close();
  });

  it('lists a torn block written since the snapshot as unrecoverable when no peer holds it', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta('v1'), false);
    await captureSnapshot(v, store, 's1');
    await write(v, 0, 9);
    await v.close();
    const { open } = await import('node:fs/promises');
    const file = await open(join(dir, 'v1', 'data'), 'r+');
    await file.write(Buffer.alloc(8, 0), 0, 8, 0);
    await file.close();
    const reopened = await Volume.open(join(dir, 'v1'), false);
    const merged = await mergeRestore(reopened, store, (await store.getManifest('v1', 's1'))!, await reopened.verify(), new Map());
    expect(merged.badBlocks).toEqual([0]);
    expect((await reopened.verify()).badBlocks).toEqual([0]); // its CRC still fails: nobody is told it is fine
    await reopened.close();
  });

  it('rebuilds a copy with the source CRCs, so a block bad on the source stays bad on the copy', async () => {
    const source = await Volume.create(join(dir, 'src'), meta('src'), false);
    await write(source, 0, 5, 2 * BLOCK_SIZE);
    await source.close();
    const { open } = await import('node:fs/promises');
    const file = await open(join(dir, 'src', 'data'), 'r+');
    await file.write(Buffer.alloc(8, 0x77), 0, 8, BLOCK_SIZE + 9); // block 1 rots on the source
    await file.close();
    const reopened = await Volume.open(join(dir, 'src'), false);
    const target = await Volume.create(join(dir, 'dst'), meta('dst'), false);
    await target.writeBlocks(0, await reopened.read(span(0, 2 * BLOCK_SIZE)), reopened.crcsOf(0, 2));
    expect((await target.verify()).badBlocks).toEqual([1]);
    await Promise.all([reopened.close(), target.close()]);
  });
});
