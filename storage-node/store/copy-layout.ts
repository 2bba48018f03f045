// Where a copy's metadata lives in its data file (format version 2): the volume's bytes at
// [0, sizeBytes), then, from the next 4 KiB boundary, a page holding the writeSeq (8 bytes,
// little-endian), the CRC32C array (one u32 per block, little-endian) and the dirty bitmap, each
// starting on a 4 KiB boundary so a torn sector of one never reaches another. One file per copy:
// one descriptor open, one fdatasync per batch of writes.
import { BLOCK_SIZE } from '../../common/types.js';

/** Version 1 (no `formatVersion` in meta.json) kept the metadata in files of their own, named here. */
export const FORMAT_VERSION = 2;
export const V1_FILES = { crc: 'crc', dirty: 'dirty', seq: 'seq' } as const;

const PAGE = 4096;
const SEQ_BYTES = 8;

export interface CopyLayout {
  blocks: number;
  /** File offsets of the writeSeq, the CRC array and the dirty bitmap. */
  seqAt: number;
  crcsAt: number;
  dirtyAt: number;
  crcBytes: number;
  dirtyBytes: number;
  /** The data file's length. */
  fileBytes: number;
}

export function copyLayout(sizeBytes: number): CopyLayout {
  const blocks = Math.ceil(sizeBytes / BLOCK_SIZE);
  const seqAt = alignUp(sizeBytes);
  const crcsAt = alignUp(seqAt + SEQ_BYTES);
  const crcBytes = blocks * 4;
  const dirtyAt = alignUp(crcsAt + crcBytes);
  const dirtyBytes = Math.ceil(blocks / 8);
  return { blocks, seqAt, crcsAt, dirtyAt, crcBytes, dirtyBytes, fileBytes: dirtyAt + dirtyBytes };
}

/** The file offset of block `block`'s CRC. */
export function crcOffset(layout: CopyLayout, block: number): number {
  return layout.crcsAt + block * 4;
}

/** The file offset of byte `byte` of the dirty bitmap. */
export function dirtyOffset(layout: CopyLayout, byte: number): number {
  return layout.dirtyAt + byte;
}

export function encodeSeq(seq: number): Buffer {
  const buf = Buffer.alloc(SEQ_BYTES);
  buf.writeBigUInt64LE(BigInt(seq));
  return buf;
}

export function decodeSeq(bytes: Buffer): number {
  return Number(bytes.readBigUInt64LE(0));
}

/** CRCs as stored: little-endian u32s (the v1 `crc` file held the same bytes). */
export function crcBytesOf(crcs: Uint32Array, first = 0, count = crcs.length - first): Buffer {
  const out = Buffer.alloc(count * 4);
  for (let i = 0; i < count; i++) out.writeUInt32LE(crcs[first + i]!, i * 4);
  return out;
}

export function crcsFromBytes(bytes: Buffer, blocks: number): Uint32Array {
  const crcs = new Uint32Array(blocks);
  for (let i = 0; i < blocks; i++) crcs[i] = bytes.readUInt32LE(i * 4);
  return crcs;
}

function alignUp(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}
