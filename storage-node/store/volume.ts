// One volume on disk: meta.json, and one sparse data file holding the volume's bytes and, past
// them, a CRC32C per block, a dirty bitmap (blocks changed since the last snapshot) and the write
// sequence number (copy-layout.ts). One descriptor open per copy.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CHUNK_BYTES, chunkHash, volumeDigest } from '../../common/chunks.js';
import { BLOCK_SIZE, type IoState, type PeerRef, type ReplicaMode, type ReplicaRole } from '../../common/types.js';
import { Bitmap } from '../protocol/bitmap.js';
import type { BlockSpan } from '../protocol/block-range.js';
import { crc32c } from '../protocol/crc32c.js';
import { readBuffers } from './buffer-pool.js';
import { emptyRegion, readRegion, removeV1Files, syncDir, upgradeV1Copy, writeMetaFile, writeRegion } from './copy-files.js';
import { copyLayout, crcBytesOf, crcOffset, dirtyOffset, encodeSeq, FORMAT_VERSION, type CopyLayout } from './copy-layout.js';
import { PARALLEL_MIN_BYTES, sharedHashPool, type FileHashes } from './hash-pool.js';

/** A copy being built, and one being removed: neither is a volume; boot removes what a crash left of them. */
export const CREATING_SUFFIX = '.creating';
export const DELETING_SUFFIX = '.deleting';

export interface VolumeMeta {
  volumeId: string;
  sizeBytes: number;
  role: ReplicaRole;
  epoch: number;
  peer: PeerRef | null;
  ioState: IoState;
  mode: ReplicaMode;
  createdAt: string;
  /** The snapshot the dirty bitmap is relative to; null: relative to an all-zero volume. */
  baseSnapshotId?: string | null;
  /** 2: the metadata lives in the data file. Absent: version 1 (files of their own), upgraded at open. */
  formatVersion?: number;
}

/** What one pass over a volume's data finds. */
export interface Verification {
  /** Blocks whose stored CRC32C does not match the data. */
  badBlocks: number[];
  /** SHA-256 of each chunk, in order. */
  chunkHashes: string[];
  digest: string;
}

export const ZERO_BLOCK_CRC = crc32c(new Uint8Array(BLOCK_SIZE));
const SCAN_BYTES = 4 * CHUNK_BYTES;

export class Volume {
  private metaWrites: Promise<void> = Promise.resolve();
  /** Something was written since the last sync of customer writes began. */
  private unsynced = false;
  private readonly layout: CopyLayout;

  private constructor(
    readonly dir: string,
    public meta: VolumeMeta,
    public writeSeq: number,
    private readonly crcs: Uint32Array,
    readonly dirty: Bitmap,
    private readonly data: FileHandle,
    private readonly fsync: boolean,
  ) {
    this.layout = copyLayout(meta.sizeBytes);
  }

  get blocks(): number {
    return this.crcs.length;
  }

  crcOf(block: number): number {
    return this.crcs[block]!;
  }

  /**
   * Builds the copy's files under a staging name and renames the directory into place whole, so
   * a crash mid-create leaves no half-made copy where boot loads volumes (chaos seed 61206
   * scenario 27: a rebuild target SIGKILLed between its files and meta.json could not boot).
   */
  static async create(dir: string, meta: VolumeMeta, fsync: boolean): Promise<Volume> {
    const staging = `${dir}.${randomBytes(4).toString('hex')}${CREATING_SUFFIX}`;
    await mkdir(staging, { recursive: true });
    try {
      const layout = copyLayout(meta.sizeBytes);
      const data = await open(join(staging, 'data'), 'w+');
      try {
        await writeRegion(data, layout, emptyRegion(layout, ZERO_BLOCK_CRC));
        await data.sync();
      } finally {
        await data.close();
      }
      await writeMetaFile(staging, { ...meta, formatVersion: FORMAT_VERSION });
      await rename(staging, dir);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    await syncDir(dirname(dir));
    return Volume.open(dir, fsync);
  }

  /** Opens a copy, upgrading a version-1 one in place first (copy-files.ts says how a crash there is safe). */
  static async open(dir: string, fsync: boolean): Promise<Volume> {
    let meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as VolumeMeta;
    if (meta.formatVersion === undefined) meta = await upgradeV1Copy(dir, meta);
    if (meta.formatVersion !== FORMAT_VERSION)
      throw new Error(`copy ${dir} has format version ${meta.formatVersion}, not ${FORMAT_VERSION}`);
    await removeV1Files(dir); // what an upgrade killed after its meta.json left behind
    if (meta.sizeBytes >= PARALLEL_MIN_BYTES) sharedHashPool(); // started now, so the first scan does not wait for its threads
    const data = await open(join(dir, 'data'), 'r+');
    try {
      const { writeSeq, crcs, dirty } = await readRegion(data, copyLayout(meta.sizeBytes));
      return new Volume(dir, meta, writeSeq, crcs, dirty, data, fsync);
    } catch (err) {
      await data.close();
      throw err;
    }
  }

  /**
   * Replaces meta.json atomically. Writes of one volume run one after another (they share the
   * temporary name, and two in flight lost a rename: chaos F1), each writing the newest meta.
   */
  async saveMeta(patch: Partial<VolumeMeta>): Promise<void> {
    this.meta = { ...this.meta, ...patch };
    const write = this.metaWrites.catch(() => undefined).then(() => writeMetaFile(this.dir, this.meta));
    this.metaWrites = write;
    await write;
  }

  /** The span's bytes, in a buffer from readBuffers: its holder may release it there once done with it. */
  async read(span: BlockSpan): Promise<Buffer> {
    const buf = readBuffers.take(span.length); // not zeroed: filled by the read, or below
    const { bytesRead } = await this.data.read(buf, 0, span.length, span.offset);
    if (bytesRead < span.length) buf.fill(0, bytesRead);
    return buf;
  }

  /**
   * Applies one write to the page cache: data, the blocks' CRCs and dirty bits side by side, and
   * last the sequence number, so a process killed in between leaves a CRC mismatch (a torn block)
   * and the old writeSeq (all four are writes to the one data file: its region past the volume's
   * bytes holds the CRCs, bitmap and writeSeq). Unsequenced: a copy being rebuilt, which must not
   * look complete before it is.
   */
  async apply(span: BlockSpan, payload: Buffer, { sequenced = true }: { sequenced?: boolean } = {}): Promise<number> {
    const start = span.firstBlock * BLOCK_SIZE;
    const whole = span.offset === start && (payload.length % BLOCK_SIZE === 0 || span.offset + payload.length === this.meta.sizeBytes);
    let blocks = payload;
    if (!whole) {
      blocks = await this.readBlocks(span.firstBlock, span.lastBlock);
      payload.copy(blocks, span.offset - start);
    }
    await Promise.all([
      this.written().write(blocks, 0, blocks.length, start),
      this.writeCrcs(span.firstBlock, blocks),
      this.markDirty(span.firstBlock, span.lastBlock),
    ]);
    if (sequenced) {
      this.writeSeq += 1;
      await this.written().write(encodeSeq(this.writeSeq), 0, 8, this.layout.seqAt);
    }
    return this.writeSeq;
  }

  /** Makes the writes applied so far durable (one fdatasync, when any), when the node syncs customer writes (NODE_FSYNC). */
  async syncWrites(): Promise<void> {
    if (!this.fsync || !this.unsynced) return;
    this.unsynced = false;
    await this.data.datasync();
  }

  private written(): FileHandle {
    this.unsynced = true;
    return this.data;
  }

  /** One write, applied and synced: for a copy written alone (tools, benchmarks, tests). */
  async write(span: BlockSpan, payload: Buffer, options: { sequenced?: boolean } = {}): Promise<number> {
    const seq = await this.apply(span, payload, options);
    await this.syncWrites();
    return seq;
  }

  /** One pass over the data: every block's CRC32C checked, and every chunk's SHA-256. */
  async verify(): Promise<Verification> {
    const { chunkHashes, crcs } = await this.hashData();
    const badBlocks: number[] = [];
    for (let b = 0; b < crcs.length; b++) if (crcs[b] !== this.crcs[b]) badBlocks.push(b);
    return { badBlocks, chunkHashes, digest: volumeDigest(chunkHashes) };
  }

  async digest(): Promise<string> {
    return volumeDigest((await this.hashData()).chunkHashes);
  }

  async readChunk(index: number): Promise<Buffer> {
    const start = index * CHUNK_BYTES;
    return this.readBlocks(start / BLOCK_SIZE, Math.min(this.meta.sizeBytes, start + CHUNK_BYTES) / BLOCK_SIZE - 1);
  }

  /**
   * Writes whole blocks that come from elsewhere (a snapshot, a peer, the rebuilding source):
   * data and CRCs, with neither a new writeSeq nor dirty bits; the caller sets those.
   */
  async writeBlocks(firstBlock: number, blocks: Buffer, crcs?: Uint32Array): Promise<void> {
    await this.written().write(blocks, 0, blocks.length, firstBlock * BLOCK_SIZE);
    await this.writeCrcs(firstBlock, blocks, crcs);
  }

  /** The stored CRCs of `count` blocks (a copy): a rebuild carries them, so a bad block stays bad. */
  crcsOf(firstBlock: number, count: number): Uint32Array {
    return this.crcs.slice(firstBlock, firstBlock + count);
  }

  /** Replaces the dirty bitmap (all clear when `bytes` is omitted) and makes it durable. */
  async resetDirty(bytes?: Uint8Array): Promise<void> {
    this.dirty.bytes.fill(0);
    if (bytes) this.dirty.bytes.set(bytes.subarray(0, this.dirty.bytes.length));
    await this.written().write(this.dirty.bytes, 0, this.dirty.bytes.length, dirtyOffset(this.layout, 0));
    await this.sync();
  }

  async setWriteSeq(seq: number): Promise<void> {
    this.writeSeq = seq;
    await this.written().write(encodeSeq(seq), 0, 8, this.layout.seqAt);
    await this.sync();
  }

  /** Makes everything written durable, whatever the fsync setting for customer writes. */
  async sync(): Promise<void> {
    await this.data.datasync();
  }

  async close(): Promise<void> {
    await this.data.close();
  }

  async destroy(): Promise<void> {
    await this.close().catch(() => undefined);
    const trash = `${this.dir}${DELETING_SUFFIX}`;
    await rename(this.dir, trash).catch(() => undefined);
    await rm(trash, { recursive: true, force: true });
  }

  private async readBlocks(first: number, last: number): Promise<Buffer> {
    const start = first * BLOCK_SIZE;
    const end = Math.min(this.meta.sizeBytes, (last + 1) * BLOCK_SIZE);
    const buf = Buffer.alloc(end - start);
    await this.data.read(buf, 0, buf.length, start);
    return buf;
  }

  private async writeCrcs(firstBlock: number, blocks: Buffer, given?: Uint32Array): Promise<void> {
    const count = Math.ceil(blocks.length / BLOCK_SIZE);
    for (let b = 0; b < count; b++) {
      this.crcs[firstBlock + b] = given?.[b] ?? crc32c(blocks, b * BLOCK_SIZE, Math.min(blocks.length, (b + 1) * BLOCK_SIZE));
    }
    await this.written().write(crcBytesOf(this.crcs, firstBlock, count), 0, count * 4, crcOffset(this.layout, firstBlock));
  }

  /** Blocks changed since the base snapshot by other means than a write (a late repair). */
  async markDirty(first: number, last: number): Promise<void> {
    let changed = false;
    for (let b = first; b <= last; b++) {
      changed ||= !this.dirty.get(b);
      this.dirty.set(b);
    }
    if (!changed) return;
    const { offset, length } = Bitmap.byteSpan(first, last);
    await this.written().write(this.dirty.bytes, offset, length, dirtyOffset(this.layout, offset));
  }

  /** Every chunk's SHA-256 and every block's CRC32C as the data is now: on every core when it pays. */
  private async hashData(): Promise<FileHashes> {
    const pool = this.meta.sizeBytes >= PARALLEL_MIN_BYTES ? sharedHashPool() : null;
    // A pool that fails (a worker died) is no reason to fail a scan: the in-thread pass either
    // succeeds or reports the real error (an unreadable file).
    const parallel = pool ? await pool.hashFile(join(this.dir, 'data'), this.meta.sizeBytes).catch(() => null) : null;
    return parallel ?? this.hashDataInThread();
  }

  private async hashDataInThread(): Promise<FileHashes> {
    const chunkHashes: string[] = [];
    const crcs = new Uint32Array(this.crcs.length);
    let blocks = 0;
    const buf = Buffer.alloc(SCAN_BYTES);
    for (let pos = 0; pos < this.meta.sizeBytes; pos += SCAN_BYTES) {
      const len = Math.min(SCAN_BYTES, this.meta.sizeBytes - pos);
      const { bytesRead } = await this.data.read(buf, 0, len, pos);
      for (let at = 0; at < bytesRead; at += CHUNK_BYTES) {
        const chunk = buf.subarray(at, Math.min(bytesRead, at + CHUNK_BYTES));
        chunkHashes.push(chunkHash(chunk));
        for (let b = 0; b < chunk.length; b += BLOCK_SIZE) crcs[blocks++] = crc32c(chunk, b, Math.min(chunk.length, b + BLOCK_SIZE));
      }
      if (bytesRead < len) break;
    }
    return { chunkHashes, crcs: crcs.subarray(0, blocks) };
  }
}
