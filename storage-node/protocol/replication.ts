// The node-to-node wire formats: a primary's batch of mirrored writes, a rebuild's copied range with
// the source's stored CRC32Cs, and a rebuild's final step. A pure codec: bytes in, typed
// messages out. Every integer is big-endian; a message is one HTTP body, whole.
//
//   header (24 bytes): magic u32 "BSRP" · version u8 · kind u8 · reserved u16 (0) · epoch u64 · volume tag u64
//   mirror:         count u32 · count × (seq u64 · offset u64 · length u32 · payload[length]), seqs consecutive
//   rebuild-range:  offset u64 · blocks u32 · crc32c u32 × blocks · payload[blocks × 4096]
//   rebuild-finish: writeSeq u64 · base length u16 · base (UTF-8; 0 = none) · dirty length u32 · dirty bitmap
import { createHash } from 'node:crypto';
import { BLOCK_SIZE } from '../../common/types.js';
import { MAX_IO_BYTES } from './block-range.js';

export const REPLICATION_MAGIC = 0x42535250; // "BSRP"
/** 2: a mirror message carries a batch of consecutive writes (1 carried one write). */
export const REPLICATION_VERSION = 2;
export const HEADER_BYTES = 24;

/** The message kinds, with their wire value. */
export const MessageKind = {
  Mirror: 1,
  RebuildRange: 2,
  RebuildFinish: 3,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

const MAX_BLOCKS = MAX_IO_BYTES / BLOCK_SIZE;
/** A batch carries at most this many writes and MAX_IO_BYTES of payload (but always one write). */
export const MAX_MIRROR_WRITES = 1024;
const MIRROR_ENTRY_BYTES = 20;
/** A rebuild-finish bitmap: one bit per block, enough for a 512 GiB volume. */
export const MAX_DIRTY_BYTES = 16 * 1024 * 1024;
/** The largest body any replication message can have. */
export const MAX_MESSAGE_BYTES = HEADER_BYTES + 4 + MAX_MIRROR_WRITES * MIRROR_ENTRY_BYTES + MAX_IO_BYTES;
export const MAX_FINISH_BYTES = HEADER_BYTES + 14 + 0xffff + MAX_DIRTY_BYTES;

export interface MirroredWrite {
  seq: number;
  offset: number;
  payload: Buffer;
}

/** Writes the primary applied in order, `seq` consecutive: the secondary applies them in that order and syncs once. */
export interface MirrorBatch {
  kind: typeof MessageKind.Mirror;
  volumeId: string;
  epoch: number;
  writes: MirroredWrite[];
}

export interface RebuildRange {
  kind: typeof MessageKind.RebuildRange;
  volumeId: string;
  epoch: number;
  offset: number;
  /** The source's stored CRC of each block, so a block bad there stays detectably bad. */
  crcs: Uint32Array;
  payload: Buffer;
}

export interface RebuildFinish {
  kind: typeof MessageKind.RebuildFinish;
  volumeId: string;
  epoch: number;
  writeSeq: number;
  baseSnapshotId: string | null;
  dirty: Buffer;
}

export type ReplicationMessage = MirrorBatch | RebuildRange | RebuildFinish;
export type Decoded<T> = { ok: true; message: T } | { ok: false; error: string };

/**
 * The first 8 bytes of SHA-256(volume id): a message sent to the wrong volume's endpoint
 * (a misrouted or replayed body) decodes as an error there.
 */
export function volumeTag(volumeId: string): bigint {
  return createHash('sha256').update(volumeId).digest().readBigUInt64BE(0);
}

function header(kind: MessageKind, volumeId: string, epoch: number, bodyBytes: number): { out: Buffer; at: number } {
  const out = Buffer.alloc(HEADER_BYTES + bodyBytes);
  out.writeUInt32BE(REPLICATION_MAGIC, 0);
  out.writeUInt8(REPLICATION_VERSION, 4);
  out.writeUInt8(kind, 5);
  out.writeBigUInt64BE(BigInt(epoch), 8);
  out.writeBigUInt64BE(volumeTag(volumeId), 16);
  return { out, at: HEADER_BYTES };
}

/** The bytes a batch takes on the wire, so a sender can stop adding writes below MAX_MESSAGE_BYTES. */
export function mirrorBatchBytes(writes: readonly MirroredWrite[]): number {
  return HEADER_BYTES + 4 + writes.reduce((n, w) => n + MIRROR_ENTRY_BYTES + w.payload.length, 0);
}

export function encodeMirror(m: Omit<MirrorBatch, 'kind'>): Buffer {
  const { out } = header(MessageKind.Mirror, m.volumeId, m.epoch, mirrorBatchBytes(m.writes) - HEADER_BYTES);
  let at = out.writeUInt32BE(m.writes.length, HEADER_BYTES);
  for (const w of m.writes) {
    at = out.writeBigUInt64BE(BigInt(w.seq), at);
    at = out.writeBigUInt64BE(BigInt(w.offset), at);
    at = out.writeUInt32BE(w.payload.length, at);
    at += w.payload.copy(out, at);
  }
  return out;
}

export function encodeRebuildRange(m: Omit<RebuildRange, 'kind'>): Buffer {
  const crcBytes = m.crcs.length * 4;
  const { out, at } = header(MessageKind.RebuildRange, m.volumeId, m.epoch, 12 + crcBytes + m.payload.length);
  out.writeBigUInt64BE(BigInt(m.offset), at);
  out.writeUInt32BE(m.crcs.length, at + 8);
  m.crcs.forEach((crc, i) => out.writeUInt32BE(crc, at + 12 + i * 4));
  m.payload.copy(out, at + 12 + crcBytes);
  return out;
}

export function encodeRebuildFinish(m: Omit<RebuildFinish, 'kind'>): Buffer {
  const base = Buffer.from(m.baseSnapshotId ?? '', 'utf8');
  const { out, at } = header(MessageKind.RebuildFinish, m.volumeId, m.epoch, 14 + base.length + m.dirty.length);
  out.writeBigUInt64BE(BigInt(m.writeSeq), at);
  out.writeUInt16BE(base.length, at + 8);
  base.copy(out, at + 10);
  out.writeUInt32BE(m.dirty.length, at + 10 + base.length);
  m.dirty.copy(out, at + 14 + base.length);
  return out;
}

/** Reads fields in order; any read past the end marks the reader short instead of throwing. */
class Reader {
  short = false;
  constructor(
    private readonly bytes: Buffer,
    public at: number,
  ) {}

  private take(n: number): number | null {
    if (this.short || this.at + n > this.bytes.length) {
      this.short = true;
      return null;
    }
    const start = this.at;
    this.at += n;
    return start;
  }

  u16(): number {
    const i = this.take(2);
    return i === null ? 0 : this.bytes.readUInt16BE(i);
  }

  u32(): number {
    const i = this.take(4);
    return i === null ? 0 : this.bytes.readUInt32BE(i);
  }

  /** A u64 that must fit a safe integer; -1 when it does not. */
  u64(): number {
    const i = this.take(8);
    if (i === null) return 0;
    const value = this.bytes.readBigUInt64BE(i);
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1;
  }

  bytesOf(n: number): Buffer {
    const i = this.take(n);
    return i === null ? Buffer.alloc(0) : this.bytes.subarray(i, i + n);
  }

  get rest(): number {
    return this.bytes.length - this.at;
  }
}

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** Decodes one message sent to `volumeId`'s endpoint; never throws. */
export function decodeReplication(volumeId: string, bytes: Buffer): Decoded<ReplicationMessage> {
  if (bytes.length < HEADER_BYTES) return fail(`a message needs a ${HEADER_BYTES}-byte header, got ${bytes.length} bytes`);
  if (bytes.readUInt32BE(0) !== REPLICATION_MAGIC) return fail('bad magic');
  if (bytes.readUInt8(4) !== REPLICATION_VERSION) return fail(`unsupported version ${bytes.readUInt8(4)}`);
  if (bytes.readUInt16BE(6) !== 0) return fail('reserved header bits are set');
  if (bytes.readBigUInt64BE(16) !== volumeTag(volumeId)) return fail(`the message is not for volume ${volumeId}`);
  const epochBig = bytes.readBigUInt64BE(8);
  if (epochBig > BigInt(Number.MAX_SAFE_INTEGER)) return fail('epoch out of range');
  const epoch = Number(epochBig);
  const r = new Reader(bytes, HEADER_BYTES);
  switch (bytes.readUInt8(5)) {
    case MessageKind.Mirror:
      return whole(r, decodeMirror(r, volumeId, epoch));
    case MessageKind.RebuildRange:
      return whole(r, decodeRange(r, volumeId, epoch));
    case MessageKind.RebuildFinish:
      return whole(r, decodeFinish(r, volumeId, epoch));
    default:
      return fail(`unknown message kind ${bytes.readUInt8(5)}`);
  }
}

function whole<T>(r: Reader, decoded: Decoded<T>): Decoded<T> {
  if (!decoded.ok) return decoded;
  if (r.short) return fail('message truncated');
  if (r.rest !== 0) return fail(`${r.rest} bytes past the end of the message`);
  return decoded;
}

function decodeMirror(r: Reader, volumeId: string, epoch: number): Decoded<MirrorBatch> {
  const count = r.u32();
  if (count === 0 || count > MAX_MIRROR_WRITES) return fail(`a mirror batch carries 1 to ${MAX_MIRROR_WRITES} writes`);
  const writes: MirroredWrite[] = [];
  let payloadBytes = 0;
  for (let i = 0; i < count && !r.short; i++) {
    const seq = r.u64();
    const offset = r.u64();
    const length = r.u32();
    if (seq < 0 || offset < 0) return fail('seq and offset must be safe integers');
    if (i > 0 && seq !== writes[i - 1]!.seq + 1) return fail(`write ${i} of the batch has seq ${seq}, not ${writes[i - 1]!.seq + 1}`);
    if (length === 0 || length > MAX_IO_BYTES) return fail(`a mirrored write carries 1 to ${MAX_IO_BYTES} bytes`);
    payloadBytes += length;
    if (i > 0 && payloadBytes > MAX_IO_BYTES) return fail(`a mirror batch of several writes carries at most ${MAX_IO_BYTES} bytes`);
    writes.push({ seq, offset, payload: r.bytesOf(length) });
  }
  return { ok: true, message: { kind: MessageKind.Mirror, volumeId, epoch, writes } };
}

function decodeRange(r: Reader, volumeId: string, epoch: number): Decoded<RebuildRange> {
  const offset = r.u64();
  const blocks = r.u32();
  if (offset < 0 || offset % BLOCK_SIZE !== 0) return fail('a rebuild range starts on a block boundary');
  if (blocks === 0 || blocks > MAX_BLOCKS) return fail(`a rebuild range is 1 to ${MAX_BLOCKS} blocks`);
  const crcBytes = r.bytesOf(blocks * 4);
  const crcs = new Uint32Array(r.short ? 0 : blocks);
  for (let i = 0; i < crcs.length; i++) crcs[i] = crcBytes.readUInt32BE(i * 4);
  const payload = r.bytesOf(blocks * BLOCK_SIZE);
  return { ok: true, message: { kind: MessageKind.RebuildRange, volumeId, epoch, offset, crcs, payload } };
}

function decodeFinish(r: Reader, volumeId: string, epoch: number): Decoded<RebuildFinish> {
  const writeSeq = r.u64();
  if (writeSeq < 0) return fail('writeSeq must be a safe integer');
  const base = r.bytesOf(r.u16()).toString('utf8');
  const dirtyLength = r.u32();
  if (dirtyLength > MAX_DIRTY_BYTES) return fail(`a dirty bitmap is at most ${MAX_DIRTY_BYTES} bytes`);
  const dirty = r.bytesOf(dirtyLength);
  return { ok: true, message: { kind: MessageKind.RebuildFinish, volumeId, epoch, writeSeq, baseSnapshotId: base || null, dirty } };
}
