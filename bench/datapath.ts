// Data-path throughput of a volume on real files, after a power loss: the node's recovery scan
// (CRC32C of every block + chunk SHA-256s, one pass), the merge-restore over the base snapshot,
// both together, a snapshot and a hydration through the snapshot store, and `cp` of the same file.
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHUNK_BYTES, chunkHash } from '../common/chunks.js';
import { BLOCK_SIZE } from '../common/types.js';
import { FsSnapshotStore } from '../snapshot-store/filesystem.js';
import { checkRange } from '../storage-node/protocol/block-range.js';
import { crc32c } from '../storage-node/protocol/crc32c.js';
import { sharedHashPool } from '../storage-node/store/hash-pool.js';
import { mergeRestore } from '../storage-node/store/merge.js';
import { captureSnapshot, hydrateFromSnapshot } from '../storage-node/store/snapshot-io.js';
import { Volume, type Verification, type VolumeMeta } from '../storage-node/store/volume.js';
import { Progress } from './progress.js';

const WRITE_BYTES = 4 * 1024 * 1024;
const PROFILE_BYTES = 256 * 1024 * 1024;

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
    const mibps = (s: number) => round(sizeMiB / s);

    const writeSeconds = await secondsOf(() => fillRandom(volume, size));
    const snapshotSeconds = await secondsOf(() => captureSnapshot(volume, store, 'base'));
    const base = (await store.getManifest('bench', 'base'))!;
    // After the snapshot, one block in every chunk is written again: every chunk differs from
    // the base, so the merge plans every chunk (its clean blocks compared by CRC).
    await dirtyEveryChunk(volume, size);
    // Writes that survived a power loss are on disk: the merge's final sync must not pay for
    // flushing the page cache this run dirtied itself (the volume writes without fsync).
    await volume.sync();
    // cp both right before the scan and at the end, and the faster one counts: a busy machine
    // (other processes on the 2 cores) slows one run of either and would flatter the ratio.
    const cpBeforeSeconds = await secondsOf(() => execFileSync('cp', [join(dir, 'vol', 'data'), join(dir, 'cp')]));
    await rm(join(dir, 'cp'));
    let scan: Verification | null = null;
    const scanCpu = process.cpuUsage();
    const scanSeconds = await secondsOf(async () => (scan = await volume.verify()));
    const { user, system } = process.cpuUsage(scanCpu);
    const mergeSeconds = await secondsOf(() => mergeRestore(volume, store, base, scan!, new Map()));
    // Worst case: a clean block in every chunk rotted on disk, so every chunk of the base is read.
    await rotOneCleanBlockPerChunk(join(dir, 'vol', 'data'), size);
    const rotten = await volume.verify();
    const worstMergeSeconds = await secondsOf(() => mergeRestore(volume, store, base, rotten, new Map()));
    const copy = await Volume.create(join(dir, 'copy'), meta('copy'), false);
    const hydrateSeconds = await secondsOf(() => hydrateFromSnapshot(copy, store, base));
    const cpSeconds = await secondsOf(() => execFileSync('cp', [join(dir, 'vol', 'data'), join(dir, 'cp')]));
    await Promise.all([volume.close(), copy.close()]);
    const mergeMiBps = mibps(scanSeconds + mergeSeconds);
    const cpMiBps = mibps(Math.min(cpBeforeSeconds, cpSeconds));
    return {
      sizeMiB,
      writeMiBps: mibps(writeSeconds),
      snapshotMiBps: mibps(snapshotSeconds),
      recoveryScanMiBps: mibps(scanSeconds),
      mergeOnlyMiBps: mibps(mergeSeconds),
      mergeMiBps,
      mergeReadingWholeBaseMiBps: mibps(scanSeconds + worstMergeSeconds),
      hydrateMiBps: mibps(hydrateSeconds),
      cpMiBps,
      cpBeforeScanMiBps: mibps(cpBeforeSeconds),
      cpAtEndMiBps: mibps(cpSeconds),
      ratio: round(mergeMiBps / cpMiBps),
      snapshotRatio: round(mibps(snapshotSeconds) / cpMiBps),
      hydrateRatio: round(mibps(hydrateSeconds) / cpMiBps),
      hashThreads: sharedHashPool() ? availableParallelism() : 1,
      scanCpuSeconds: round((user + system) / 1e6),
      scanBusyCores: round((user + system) / 1e6 / scanSeconds),
      ...(await profileScan(join(dir, 'vol', 'data'), Math.min(size, PROFILE_BYTES))),
      note: 'ratio = mergeMiBps / cpMiBps, snapshotRatio and hydrateRatio likewise; the scan hashes on hashThreads worker threads, scanCpuSeconds is the CPU time of all of them and scanBusyCores that over the scan wall time; scan…NsPerByte: CPU nanoseconds per byte of each step of the scan done alone on one thread (pread, CRC32C per block, SHA-256 per chunk); mergeMiBps = recovery scan + merge over the base snapshot with a block written since in every chunk (clean blocks compared by CRC, no base read); mergeReadingWholeBase = a clean block rotted in every chunk, so every base chunk is read and verified; cp is an in-kernel copy from the page cache, the faster of one right before the scan and one at the end (both given)',
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

/** Where a scan's time goes: each step alone, in CPU nanoseconds per byte (a busy machine stretches wall time, not these). */
async function profileScan(dataPath: string, bytes: number) {
  const file = await open(dataPath, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const nsPerByte = async (step: () => Promise<unknown> | unknown) => {
      const cpu = process.cpuUsage();
      await step();
      const { user, system } = process.cpuUsage(cpu);
      return round(((user + system) * 1e3) / bytes);
    };
    const readAll = async () => {
      for (let at = 0; at < bytes; at += WRITE_BYTES) await file.read(buf, at, Math.min(WRITE_BYTES, bytes - at), at);
    };
    await readAll(); // the buffer's first touch (page faults) is not the read's cost
    const scanReadNsPerByte = await nsPerByte(readAll);
    const scanCrc32cNsPerByte = await nsPerByte(() => {
      for (let at = 0; at < bytes; at += BLOCK_SIZE) crc32c(buf, at, at + BLOCK_SIZE);
    });
    const scanSha256NsPerByte = await nsPerByte(() => {
      for (let at = 0; at < bytes; at += CHUNK_BYTES) chunkHash(buf.subarray(at, at + CHUNK_BYTES));
    });
    return { scanReadNsPerByte, scanCrc32cNsPerByte, scanSha256NsPerByte };
  } finally {
    await file.close();
  }
}

async function secondsOf(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function span(offset: number, length: number, size: number) {
  return checkRange(offset, length, size) as Exclude<ReturnType<typeof checkRange>, string>;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
