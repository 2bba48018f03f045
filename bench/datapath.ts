// Data-path throughput of a volume on real files, after a power loss: the node's recovery scan
// (CRC32C of every block + chunk SHA-256s, one pass), the merge-restore over the base snapshot,
// both together, a snapshot and a hydration through the snapshot store, and `cp` of the same file.
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHUNK_BYTES } from '../common/chunks.js';
import { BLOCK_SIZE } from '../common/types.js';
import { FsSnapshotStore } from '../snapshot-store/filesystem.js';
import { checkRange } from '../storage-node/protocol/block-range.js';
import { mergeRestore } from '../storage-node/store/merge.js';
import { captureSnapshot, hydrateFromSnapshot } from '../storage-node/store/snapshot-io.js';
import { Volume, type Verification, type VolumeMeta } from '../storage-node/store/volume.js';
import { Progress } from './progress.js';

const WRITE_BYTES = 4 * 1024 * 1024;

export async function datapathBench(sizeMiB: number) {
  const dir = await mkdtemp(join(tmpdir(), 'blackstart-datapath-'));
  try {
    const size = sizeMiB * 1024 * 1024;
    const meta = (volumeId: string): VolumeMeta => ({
      volumeId,
      sizeBytes: size,
      role: 'primary',
      epoch: 1,
      peer: null,
      ioState: 'enabled',
      mode: 'normal',
      createdAt: new Date().toISOString(),
    });
    const store = new FsSnapshotStore(join(dir, 'store'));
    const volume = await Volume.create(join(dir, 'vol'), meta('bench'), false);
    const seconds = async (fn: () => Promise<unknown> | unknown) => {
      const t = performance.now();
      await fn();
      return (performance.now() - t) / 1000;
    };
    const mibps = (s: number) => round(sizeMiB / s);

    const writeSeconds = await seconds(() => fillRandom(volume, size));
    const snapshotSeconds = await seconds(() => captureSnapshot(volume, store, 'base'));
    const base = (await store.getManifest('bench', 'base'))!;
    // After the snapshot, one block in every chunk is written again: every chunk is dirty, so
    // the merge must read every chunk of the base — its worst case.
    await dirtyEveryChunk(volume, size);
    let scan: Verification | null = null;
    const scanSeconds = await seconds(async () => (scan = await volume.verify()));
    const mergeSeconds = await seconds(() => mergeRestore(volume, store, base, scan!, new Map()));
    // Worst case: a clean block in every chunk rotted on disk, so every chunk of the base is read.
    await rotOneCleanBlockPerChunk(join(dir, 'vol', 'data'), size);
    const rotten = await volume.verify();
    const worstMergeSeconds = await seconds(() => mergeRestore(volume, store, base, rotten, new Map()));
    const copy = await Volume.create(join(dir, 'copy'), meta('copy'), false);
    const hydrateSeconds = await seconds(() => hydrateFromSnapshot(copy, store, base));
    const cpSeconds = await seconds(() => execFileSync('cp', [join(dir, 'vol', 'data'), join(dir, 'cp')]));
    await Promise.all([volume.close(), copy.close()]);
    const mergeMiBps = mibps(scanSeconds + mergeSeconds);
    return {
      sizeMiB,
      writeMiBps: mibps(writeSeconds),
      snapshotMiBps: mibps(snapshotSeconds),
      recoveryScanMiBps: mibps(scanSeconds),
      mergeOnlyMiBps: mibps(mergeSeconds),
      mergeMiBps,
      mergeReadingWholeBaseMiBps: mibps(scanSeconds + worstMergeSeconds),
      hydrateMiBps: mibps(hydrateSeconds),
      cpMiBps: mibps(cpSeconds),
      ratio: round(mergeMiBps / mibps(cpSeconds)),
      note: 'mergeMiBps = recovery scan + merge over the base snapshot with a block written since in every chunk (clean blocks compared by CRC, no base read); mergeReadingWholeBase = a clean block rotted in every chunk, so every base chunk is read and verified; cp is an in-kernel copy from the page cache',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fillRandom(volume: Volume, size: number): Promise<void> {
  const fill = new Progress('datapath: writing', size / WRITE_BYTES);
  const bytes = randomFillSync(Buffer.alloc(WRITE_BYTES));
  for (let off = 0; off < size; off += WRITE_BYTES) {
    const length = Math.min(WRITE_BYTES, size - off);
    await volume.write(span(off, length, size), bytes.subarray(0, length));
    fill.update(off / WRITE_BYTES + 1);
  }
  fill.done();
}

async function dirtyEveryChunk(volume: Volume, size: number): Promise<void> {
  const block = randomFillSync(Buffer.alloc(BLOCK_SIZE));
  for (let off = 0; off < size; off += CHUNK_BYTES) await volume.write(span(off, BLOCK_SIZE, size), block);
}

async function rotOneCleanBlockPerChunk(dataPath: string, size: number): Promise<void> {
  const file = await open(dataPath, 'r+');
  try {
    for (let off = 2 * BLOCK_SIZE; off < size; off += CHUNK_BYTES) await file.write(Buffer.alloc(8, 0xff), 0, 8, off);
  } finally {
    await file.close();
  }
}

function span(offset: number, length: number, size: number) {
  return checkRange(offset, length, size) as Exclude<ReturnType<typeof checkRange>, string>;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
