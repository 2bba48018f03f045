// The frames of the mirror stream: one long-lived connection from a primary's node to a peer
// node, carrying mirror batches of any of the volumes they share, several in flight at once, each
// answered under its request id. A pure codec: frames to bytes, and a decoder that takes the byte
// stream in whatever chunks it arrives. Every integer is big-endian.
//
//   frame:   length u32 (of what follows) · type u8 · id u32 · body
//   request (type 1): token length u16 · token (UTF-8) · volume id length u16 · volume id (UTF-8) ·
//                     the mirror batch as protocol/replication.ts encodes it (the rest)
//   answer  (type 2): status u16 (as HTTP's: 200 ok, 409 stale-epoch, …) · code length u8 · code ·
//                     message (UTF-8, the rest)
import { MAX_MESSAGE_BYTES } from './replication.js';

/** What a client asks for in its HTTP Upgrade header; the path it upgrades at. */
export const MIRROR_STREAM_PROTOCOL = 'blackstart-mirror/1';
export const MIRROR_STREAM_PATH = '/v1/replication/stream';

export const FrameType = { Request: 1, Answer: 2 } as const;

const PREFIX_BYTES = 4;
const HEAD_BYTES = 5; // type · id
export const MAX_TOKEN_BYTES = 1024;
export const MAX_VOLUME_ID_BYTES = 1024;
const MAX_TEXT_BYTES = 4096;
/** The longest frame either side accepts: a request with the largest batch, token and volume id. */
export const MAX_FRAME_BYTES = HEAD_BYTES + 2 + MAX_TOKEN_BYTES + 2 + MAX_VOLUME_ID_BYTES + MAX_MESSAGE_BYTES;

export interface MirrorRequest {
  type: typeof FrameType.Request;
  id: number;
  token: string;
  volumeId: string;
  /** A protocol/replication.ts message; the receiver decodes it for `volumeId`. */
  message: Buffer;
}

export interface MirrorAnswer {
  type: typeof FrameType.Answer;
  id: number;
  status: number;
  code: string;
  text: string;
}

export type Frame = MirrorRequest | MirrorAnswer;

/** Bytes that are not a valid frame: the connection carrying them is closed. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

function frame(type: number, id: number, parts: Buffer[]): Buffer {
  const bodyBytes = parts.reduce((n, p) => n + p.length, 0);
  const head = Buffer.alloc(PREFIX_BYTES + HEAD_BYTES);
  head.writeUInt32BE(HEAD_BYTES + bodyBytes, 0);
  head.writeUInt8(type, 4);
  head.writeUInt32BE(id, 5);
  return Buffer.concat([head, ...parts]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function text(value: string, max: number, what: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > max) throw new FrameError(`${what} is ${bytes.length} bytes, at most ${max}`);
  return bytes;
}

export function encodeFrame(f: Frame): Buffer {
  if (!Number.isInteger(f.id) || f.id < 0 || f.id > 0xffffffff) throw new FrameError(`request id ${f.id} is not a u32`);
  if (f.type === FrameType.Request) {
    const token = text(f.token, MAX_TOKEN_BYTES, 'a token');
    const volumeId = text(f.volumeId, MAX_VOLUME_ID_BYTES, 'a volume id');
    if (f.message.length > MAX_MESSAGE_BYTES) throw new FrameError(`a message is at most ${MAX_MESSAGE_BYTES} bytes`);
    return frame(FrameType.Request, f.id, [u16(token.length), token, u16(volumeId.length), volumeId, f.message]);
  }
  const code = text(f.code, 255, 'a code');
  const status = u16(f.status);
  return frame(FrameType.Answer, f.id, [status, Buffer.from([code.length]), code, text(f.text, MAX_TEXT_BYTES, 'a message')]);
}

/**
 * Takes the byte stream chunk by chunk and hands back each whole frame; throws FrameError at the
 * first byte that cannot begin or continue a valid frame (and stays broken after).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameError | null = null;

  push(chunk: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    try {
      for (let f = this.next(); f; f = this.next()) frames.push(f);
    } catch (err) {
      this.failed = err as FrameError;
      throw err;
    }
    return frames;
  }

  private next(): Frame | null {
    if (this.buffered < PREFIX_BYTES) return null;
    const length = this.peek(PREFIX_BYTES).readUInt32BE(0);
    if (length < HEAD_BYTES || length > MAX_FRAME_BYTES)
      throw new FrameError(`a frame of ${length} bytes (${HEAD_BYTES} to ${MAX_FRAME_BYTES})`);
    if (this.buffered < PREFIX_BYTES + length) return null;
    const bytes = this.take(PREFIX_BYTES + length).subarray(PREFIX_BYTES);
    return decodeFrame(bytes);
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }
}

/** One frame without its length prefix. */
function decodeFrame(bytes: Buffer): Frame {
  const type = bytes.readUInt8(0);
  const id = bytes.readUInt32BE(1);
  let at = HEAD_BYTES;
  const field = (n: number, what: string): Buffer => {
    if (at + n > bytes.length) throw new FrameError(`${what} runs past the end of the frame`);
    at += n;
    return bytes.subarray(at - n, at);
  };
  if (type === FrameType.Request) {
    const token = field(field(2, 'a token length').readUInt16BE(0), 'the token');
    const volumeId = field(field(2, 'a volume id length').readUInt16BE(0), 'the volume id');
    if (token.length > MAX_TOKEN_BYTES || volumeId.length > MAX_VOLUME_ID_BYTES) throw new FrameError('a token or volume id too long');
    const message = bytes.subarray(at);
    if (message.length > MAX_MESSAGE_BYTES) throw new FrameError(`a message is at most ${MAX_MESSAGE_BYTES} bytes`);
    return { type, id, token: token.toString('utf8'), volumeId: volumeId.toString('utf8'), message };
  }
  if (type === FrameType.Answer) {
    const status = field(2, 'a status').readUInt16BE(0);
    const code = field(field(1, 'a code length').readUInt8(0), 'the code').toString('utf8');
    return { type, id, status, code, text: bytes.subarray(at).toString('utf8') };
  }
  throw new FrameError(`unknown frame type ${type}`);
}
