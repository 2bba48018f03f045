// One volume on disk: a sparse data file, its metadata, a CRC32C per block, a dirty bitmap
// (blocks changed since the last snapshot) and the write sequence number.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOCK_SIZE, type IoState, type PeerRef, type ReplicaMode, type ReplicaRole } from '../../common/types.js';
import { Bitmap } from '../protocol/bitmap.js';
import type { BlockSpan } from '../protocol/block-range.js';
import { crc32c } from '../protocol/crc32c.js';

export interface VolumeMeta {
  volumeId: string;
  sizeBytes: number;
  role: ReplicaRole;
  epoch: number;
  peer: PeerRef | null;
  ioState: IoState;
  mode: ReplicaMode;
  createdAt: string;
}

const ZERO_BLOCK_CRC = crc32c(new Uint8Array(BLOCK_SIZE));
const SCAN_CHUNK = 256 * BLOCK_SIZE;

export class Volume {
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

  static async create(dir: string, meta: VolumeMeta, fsync: boolean): Promise<Volume> {
    await mkdir(dir, { recursive: true });
    const blocks = Math.ceil(meta.sizeBytes / BLOCK_SIZE);
    const data = await open(join(dir, 'data'), 'w+');
    await data.truncate(meta.sizeBytes);
    await data.close();
    await writeFile(join(dir, 'crc'), new Uint8Array(new Uint32Array(blocks).fill(ZERO_BLOCK_CRC).buffer));
    await writeFile(join(dir, 'dirty'), Bitmap.forBlocks(blocks).bytes);
    await writeFile(join(dir, 'seq'), encodeSeq(0));
    await writeMetaFile(dir, meta);
    return Volume.open(dir, fsync);
  }

  static async open(dir: string, fsync: boolean): Promise<Volume> {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as VolumeMeta;
    const crcBytes = await readFile(join(dir, 'crc'));
    const crcs = new Uint32Array(crcBytes.buffer.slice(crcBytes.byteOffset, crcBytes.byteOffset + crcBytes.length));
    const dirty = new Bitmap(new Uint8Array(await readFile(join(dir, 'dirty'))));
    const seq = Number((await readFile(join(dir, 'seq'))).readBigUInt64LE(0));
    const files = {
      data: await open(join(dir, 'data'), 'r+'),
      crc: await open(join(dir, 'crc'), 'r+'),
      dirty: await open(join(dir, 'dirty'), 'r+'),
      seq: await open(join(dir, 'seq'), 'r+'),
    };
    return new Volume(dir, meta, seq, crcs, dirty, files, fsync);
  }

  async saveMeta(patch: Partial<VolumeMeta>): Promise<void> {
    this.meta = { ...this.meta, ...patch };
    await writeMetaFile(this.dir, this.meta);
  }

  async read(span: BlockSpan): Promise<Buffer> {
    const buf = Buffer.alloc(span.length);
    await this.files.data.read(buf, 0, span.length, span.offset);
    return buf;
  }

  /**
   * Applies one write: data, then the blocks' CRCs, dirty bits, and last the sequence number,
   * so a crash in between leaves a CRC mismatch (a torn block) and the old writeSeq.
   */
  async write(span: BlockSpan, payload: Buffer): Promise<number> {
    const start = span.firstBlock * BLOCK_SIZE;
    const merged = await this.readBlocks(span.firstBlock, span.lastBlock);
    payload.copy(merged, span.offset - start);
    await this.files.data.write(merged, 0, merged.length, start);
    await this.writeCrcs(span.firstBlock, merged);
    await this.markDirty(span.firstBlock, span.lastBlock);
    this.writeSeq += 1;
    await this.files.seq.write(encodeSeq(this.writeSeq), 0, 8, 0);
    if (this.fsync) await Promise.all([this.files.data.datasync(), this.files.crc.datasync(), this.files.seq.datasync()]);
    return this.writeSeq;
  }

  /** One pass over the data: every block's CRC32C checked, and the SHA-256 of the whole. */
  async verify(): Promise<{ badBlocks: number[]; digest: string }> {
    const badBlocks: number[] = [];
    const hash = createHash('sha256');
    await this.forEachChunk((chunk, firstBlock) => {
      hash.update(chunk);
      for (let b = 0; b * BLOCK_SIZE < chunk.length; b++) {
        const crc = crc32c(chunk, b * BLOCK_SIZE, Math.min(chunk.length, (b + 1) * BLOCK_SIZE));
        if (crc !== this.crcs[firstBlock + b]) badBlocks.push(firstBlock + b);
      }
    });
    return { badBlocks, digest: hash.digest('hex') };
  }

  async digest(): Promise<string> {
    const hash = createHash('sha256');
    await this.forEachChunk((chunk) => hash.update(chunk));
    return hash.digest('hex');
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.files).map((f) => f.close()));
  }

  async destroy(): Promise<void> {
    await this.close().catch(() => undefined);
    const trash = `${this.dir}.deleting`;
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

  private async writeCrcs(firstBlock: number, blocks: Buffer): Promise<void> {
    const count = Math.ceil(blocks.length / BLOCK_SIZE);
    for (let b = 0; b < count; b++) {
      this.crcs[firstBlock + b] = crc32c(blocks, b * BLOCK_SIZE, Math.min(blocks.length, (b + 1) * BLOCK_SIZE));
    }
    const bytes = new Uint8Array(this.crcs.buffer, firstBlock * 4, count * 4);
    await this.files.crc.write(bytes, 0, bytes.length, firstBlock * 4);
  }

  private async markDirty(first: number, last: number): Promise<void> {
    for (let b = first; b <= last; b++) this.dirty.set(b);
    const { offset, length } = Bitmap.byteSpan(first, last);
    await this.files.dirty.write(this.dirty.bytes, offset, length, offset);
  }

  private async forEachChunk(visit: (chunk: Buffer, firstBlock: number) => void): Promise<void> {
    const buf = Buffer.alloc(SCAN_CHUNK);
    for (let pos = 0; pos < this.meta.sizeBytes; pos += SCAN_CHUNK) {
      const len = Math.min(SCAN_CHUNK, this.meta.sizeBytes - pos);
      const { bytesRead } = await this.files.data.read(buf, 0, len, pos);
      visit(buf.subarray(0, bytesRead), pos / BLOCK_SIZE);
    }
  }
}

function encodeSeq(seq: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(seq));
  return buf;
}

async function writeMetaFile(dir: string, meta: VolumeMeta): Promise<void> {
  const tmp = join(dir, 'meta.json.tmp');
  await writeFile(tmp, JSON.stringify(meta, null, 2));
  await rename(tmp, join(dir, 'meta.json'));
}
