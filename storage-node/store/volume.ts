// One volume on disk: a sparse data file, its metadata, a CRC32C per block, a dirty bitmap
// (blocks changed since the last snapshot) and the write sequence number.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CHUNK_BYTES, chunkHash, volumeDigest } from '../../common/chunks.js';
import { BLOCK_SIZE, type IoState, type PeerRef, type ReplicaMode, type ReplicaRole } from '../../common/types.js';
import { Bitmap } from '../protocol/bitmap.js';
import type { BlockSpan } from '../protocol/block-range.js';
import { crc32c } from '../protocol/crc32c.js';
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
  /** The files written since the last sync of customer writes began. */
  private readonly unsynced = new Set<FileHandle>();

  private constructor(
    readonly dir: string,
    public meta: VolumeMeta,
    public writeSeq: number,
    private readonly crcs: Uint32Array,
    readonly dirty: Bitmap,
    private readonly files: { data: FileHandle; crc: FileHandle; dirty: FileHandle; seq: FileHandle },
    private readonly fsync: boolean,
  ) {}

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
      const blocks = Math.ceil(meta.sizeBytes / BLOCK_SIZE);
      const data = await open(join(staging, 'data'), 'w+');
      await data.truncate(meta.sizeBytes);
      await data.sync();
      await data.close();
      await writeSynced(join(staging, 'crc'), new Uint8Array(new Uint32Array(blocks).fill(ZERO_BLOCK_CRC).buffer));
      await writeSynced(join(staging, 'dirty'), Bitmap.forBlocks(blocks).bytes);
      await writeSynced(join(staging, 'seq'), encodeSeq(0));
      await writeMetaFile(staging, meta);
      await rename(staging, dir);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    await syncDir(dirname(dir));
    return Volume.open(dir, fsync);
  }

  static async open(dir: string, fsync: boolean): Promise<Volume> {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as VolumeMeta;
    const crcBytes = await readFile(join(dir, 'crc'));
    const crcs = new Uint32Array(crcBytes.buffer.slice(crcBytes.byteOffset, crcBytes.byteOffset + crcBytes.length));
    const dirty = new Bitmap(new Uint8Array(await readFile(join(dir, 'dirty'))));
    const seq = Number((await readFile(join(dir, 'seq'))).readBigUInt64LE(0));
    if (meta.sizeBytes >= PARALLEL_MIN_BYTES) sharedHashPool(); // started now, so the first scan does not wait for its threads
    const files = {
      data: await open(join(dir, 'data'), 'r+'),
      crc: await open(join(dir, 'crc'), 'r+'),
      dirty: await open(join(dir, 'dirty'), 'r+'),
      seq: await open(join(dir, 'seq'), 'r+'),
    };
    return new Volume(dir, meta, seq, crcs, dirty, files, fsync);
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

  async read(span: BlockSpan): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(span.length); // not zeroed: filled by the read, or below
    const { bytesRead } = await this.files.data.read(buf, 0, span.length, span.offset);
    if (bytesRead < span.length) buf.fill(0, bytesRead);
    return buf;
  }

  /**
   * Applies one write to the page cache: data, the blocks' CRCs and dirty bits side by side, and
   * last the sequence number, so a process killed in between leaves a CRC mismatch (a torn block)
   * and the old writeSeq. Unsequenced: a copy being rebuilt, which must not look complete before it is.
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
      this.written(this.files.data).write(blocks, 0, blocks.length, start),
      this.writeCrcs(span.firstBlock, blocks),
      this.markDirty(span.firstBlock, span.lastBlock),
    ]);
    if (sequenced) {
      this.writeSeq += 1;
      await this.written(this.files.seq).write(encodeSeq(this.writeSeq), 0, 8, 0);
    }
    return this.writeSeq;
  }

  /** Makes the writes applied so far durable (the files they changed), when the node syncs customer writes (NODE_FSYNC). */
  async syncWrites(): Promise<void> {
    if (!this.fsync) return;
    const files = [...this.unsynced];
    this.unsynced.clear();
    await Promise.all(files.map((f) => f.datasync()));
  }

  private written(file: FileHandle): FileHandle {
    this.unsynced.add(file);
    return file;
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
    await this.files.data.write(blocks, 0, blocks.length, firstBlock * BLOCK_SIZE);
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
    await this.files.dirty.write(this.dirty.bytes, 0, this.dirty.bytes.length, 0);
    await this.sync();
  }

  async setWriteSeq(seq: number): Promise<void> {
    this.writeSeq = seq;
    await this.files.seq.write(encodeSeq(seq), 0, 8, 0);
    await this.sync();
  }

  /** Makes every file durable, whatever the fsync setting for customer writes. */
  async sync(): Promise<void> {
    await Promise.all(Object.values(this.files).map((f) => f.datasync()));
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.files).map((f) => f.close()));
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
    await this.files.data.read(buf, 0, buf.length, start);
    return buf;
  }

  private async writeCrcs(firstBlock: number, blocks: Buffer, given?: Uint32Array): Promise<void> {
    const count = Math.ceil(blocks.length / BLOCK_SIZE);
    for (let b = 0; b < count; b++) {
      this.crcs[firstBlock + b] = given?.[b] ?? crc32c(blocks, b * BLOCK_SIZE, Math.min(blocks.length, (b + 1) * BLOCK_SIZE));
    }
    const bytes = new Uint8Array(this.crcs.buffer, firstBlock * 4, count * 4);
    await this.written(this.files.crc).write(bytes, 0, bytes.length, firstBlock * 4);
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
    await this.written(this.files.dirty).write(this.dirty.bytes, offset, length, offset);
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
      const { bytesRead } = await this.files.data.read(buf, 0, len, pos);
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

function encodeSeq(seq: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(seq));
  return buf;
}

/**
 * Replaces meta.json atomically and durably: the base snapshot it names must never roll back
 * behind a dirty bitmap that was cleared for a newer one.
 */
async function writeMetaFile(dir: string, meta: VolumeMeta): Promise<void> {
  const tmp = join(dir, 'meta.json.tmp');
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(JSON.stringify(meta, null, 2));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, join(dir, 'meta.json'));
  await syncDir(dir);
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Makes a directory's entries (a rename, a new file) durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
