// The NBD transmission phase, both sides (spec: doc/proto.md "Transmission", "Request message",
// "Simple reply message", "Request types", "Error values"). Pure: bytes in, typed messages out.
//
// Server:  const decoder = new RequestDecoder({ maxPayload, exportSize }); decoder.push(chunk) →
//            [{type:'request', command, flags, handle, offset, length, payload?}, request-error, fatal…]
//          answer each with encodeSimpleReply(handle, errno), followed by the data of a successful READ.
//          A request-error carries the errno to answer (EINVAL, ENOSPC…); a fatal means close.
// Client:  write encodeRequest({command, flags, handle, offset, length}, payload?);
//          const replies = new ReplyDecoder((handle) => bytes a successful reply carries, or undefined
//          for a handle not in flight); replies.push(chunk) → [{type:'reply', handle, errno, data?}, fatal…]
// Either decoder takes `payloadForm: 'chunks'` to hand payloads over as the chunks they arrived in
// (subarrays, no copy) instead of one Buffer.
// Handles are 64-bit opaque values carried as bigint; offsets past Number.MAX_SAFE_INTEGER are
// refused as out of range. Nothing throws out of push(); end() reports a stream cut mid-message.
import { ByteQueue, fatal, type NbdFatal, type Payload, type PayloadForm, type RequestError } from './nbd-bytes.js';
import { CmdFlag, KNOWN_COMMANDS, NbdCmd, NbdErrno, NbdMagic, REQUEST_BYTES, SIMPLE_REPLY_BYTES } from './nbd-constants.js';

export interface NbdRequestHeader {
  command: number;
  flags: number;
  handle: bigint;
  offset: number;
  length: number;
}
export interface NbdRequest<F extends PayloadForm = 'buffer'> extends NbdRequestHeader {
  type: 'request';
  /** NBD_CMD_WRITE only: exactly `length` bytes. */
  payload?: Payload<F>;
}
export type RequestEvent<F extends PayloadForm = 'buffer'> = NbdRequest<F> | RequestError | NbdFatal;

export interface NbdReply<F extends PayloadForm = 'buffer'> {
  type: 'reply';
  handle: bigint;
  errno: number;
  /** A successful READ's data. */
  data?: Payload<F>;
}
export type ReplyEvent<F extends PayloadForm = 'buffer'> = NbdReply<F> | NbdFatal;

/** Command flags each command may carry (spec: "Command flags"); FUA is valid on every command. */
const ALLOWED_FLAGS: Record<number, number> = {
  [NbdCmd.READ]: CmdFlag.FUA | CmdFlag.DF,
  [NbdCmd.WRITE_ZEROES]: CmdFlag.FUA | CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO,
  [NbdCmd.BLOCK_STATUS]: CmdFlag.FUA | CmdFlag.REQ_ONE,
};
/** Commands whose range must lie inside the export; those that write answer ENOSPC past its end. */
const RANGED = new Set<number>([NbdCmd.READ, NbdCmd.WRITE, NbdCmd.TRIM, NbdCmd.CACHE, NbdCmd.WRITE_ZEROES, NbdCmd.BLOCK_STATUS]);
const WRITING = new Set<number>([NbdCmd.WRITE, NbdCmd.WRITE_ZEROES]);

export function encodeRequestHeader(req: NbdRequestHeader): Buffer {
  const buf = Buffer.alloc(REQUEST_BYTES);
  buf.writeUInt32BE(NbdMagic.REQUEST, 0);
  buf.writeUInt16BE(req.flags, 4);
  buf.writeUInt16BE(req.command, 6);
  buf.writeBigUInt64BE(req.handle, 8);
  buf.writeBigUInt64BE(BigInt(req.offset), 16);
  buf.writeUInt32BE(req.length, 24);
  return buf;
}

export function encodeRequest(req: NbdRequestHeader, payload?: Uint8Array): Buffer {
  const header = encodeRequestHeader(req);
  return payload ? Buffer.concat([header, payload]) : header;
}

/** A simple reply's header; a successful READ's data follows it on the wire. */
export function encodeSimpleReply(handle: bigint, errno: number): Buffer {
  const buf = Buffer.alloc(SIMPLE_REPLY_BYTES);
  buf.writeUInt32BE(NbdMagic.SIMPLE_REPLY, 0);
  buf.writeUInt32BE(errno, 4);
  buf.writeBigUInt64BE(handle, 8);
  return buf;
}

/**
 * Server side. `maxPayload` bounds a WRITE's payload (longer: fatal, since the bytes after the
 * header cannot be trusted) and a READ's length (longer: EINVAL); `exportSize`, when given,
 * bounds every ranged request (EINVAL, or ENOSPC for writes).
 */
export class RequestDecoder<F extends PayloadForm = 'buffer'> {
  private readonly queue = new ByteQueue();
  private failed = false;

  constructor(private readonly opts: { maxPayload: number; exportSize?: number; payloadForm?: F }) {}

  push(chunk: Uint8Array): RequestEvent<F>[] {
    if (this.failed) return [];
    this.queue.push(chunk);
    const out = drain(() => this.next());
    this.failed = out.at(-1)?.type === 'fatal';
    return out;
  }

  /** Bytes received but not yet decoded (for backpressure accounting). */
  get buffered(): number {
    return this.queue.length;
  }

  end(): NbdFatal | null {
    return this.queue.length > 0 && !this.failed
      ? fatal('truncated', `stream ended inside a request (${this.queue.length} bytes left)`)
      : null;
  }

  private next(): RequestEvent<F> | null {
    const header = this.queue.peek(REQUEST_BYTES);
    if (!header) return null;
    if (header.readUInt32BE(0) !== NbdMagic.REQUEST) return fatal('bad-magic', `request magic 0x${header.readUInt32BE(0).toString(16)}`);
    const command = header.readUInt16BE(6);
    const length = header.readUInt32BE(24);
    if (command === NbdCmd.WRITE && length > this.opts.maxPayload) {
      return fatal('too-long', `write of ${length} bytes (at most ${this.opts.maxPayload})`);
    }
    const payloadBytes = command === NbdCmd.WRITE ? length : 0;
    if (this.queue.length < REQUEST_BYTES + payloadBytes) return null;
    this.queue.skip(REQUEST_BYTES);
    const rawOffset = header.readBigUInt64BE(16);
    const req: NbdRequest<F> = {
      type: 'request',
      command,
      length,
      flags: header.readUInt16BE(4),
      handle: header.readBigUInt64BE(8),
      offset: rawOffset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(rawOffset),
    };
    if (payloadBytes) req.payload = this.queue.takeAs(payloadBytes, this.opts.payloadForm ?? ('buffer' as F));
    return this.check(req, rawOffset) ?? req;
  }

  private check(req: NbdRequest<F>, rawOffset: bigint): RequestError | null {
    const refuse = (code: RequestError['code'], errno: number, message: string): RequestError => ({
      type: 'request-error',
      code,
      command: req.command,
      handle: req.handle,
      errno,
      message,
    });
    if (!KNOWN_COMMANDS.has(req.command)) return refuse('unknown-command', NbdErrno.EINVAL, `unknown command ${req.command}`);
    if ((req.flags & ~(ALLOWED_FLAGS[req.command] ?? CmdFlag.FUA)) !== 0) {
      return refuse('bad-flags', NbdErrno.EINVAL, `flags 0x${req.flags.toString(16)} not valid for command ${req.command}`);
    }
    if (req.command === NbdCmd.READ && req.length > this.opts.maxPayload) {
      return refuse('too-long', NbdErrno.EINVAL, `read of ${req.length} bytes (at most ${this.opts.maxPayload})`);
    }
    const size = this.opts.exportSize ?? Number.MAX_SAFE_INTEGER;
    if (RANGED.has(req.command) && (rawOffset > BigInt(Number.MAX_SAFE_INTEGER) || req.offset + req.length > size)) {
      const errno = WRITING.has(req.command) ? NbdErrno.ENOSPC : NbdErrno.EINVAL;
      return refuse('out-of-range', errno, `range ${rawOffset}+${req.length} ends past the export (${size} bytes)`);
    }
    return null;
  }
}

/**
 * Client side. `expected(handle)` is how many data bytes a successful reply to that handle
 * carries (the READ's length, 0 for other commands), or undefined when no such request is in
 * flight — a reply to it is fatal. Structured replies are not negotiated, so they are fatal too.
 */
export class ReplyDecoder<F extends PayloadForm = 'buffer'> {
  private readonly queue = new ByteQueue();
  private failed = false;

  constructor(
    private readonly expected: (handle: bigint) => number | undefined,
    private readonly opts: { payloadForm?: F } = {},
  ) {}

  push(chunk: Uint8Array): ReplyEvent<F>[] {
    if (this.failed) return [];
    this.queue.push(chunk);
    const out = drain(() => this.next());
    this.failed = out.at(-1)?.type === 'fatal';
    return out;
  }

  end(): NbdFatal | null {
    return this.queue.length > 0 && !this.failed
      ? fatal('truncated', `stream ended inside a reply (${this.queue.length} bytes left)`)
      : null;
  }

  private next(): ReplyEvent<F> | null {
    const header = this.queue.peek(SIMPLE_REPLY_BYTES);
    if (!header) return null;
    const magic = header.readUInt32BE(0);
    if (magic === NbdMagic.STRUCTURED_REPLY) return fatal('bad-reply', 'structured reply, which was not negotiated');
    if (magic !== NbdMagic.SIMPLE_REPLY) return fatal('bad-magic', `reply magic 0x${magic.toString(16)}`);
    const handle = header.readBigUInt64BE(8);
    const errno = header.readUInt32BE(4);
    const expected = this.expected(handle);
    if (expected === undefined) return fatal('unknown-handle', `reply to handle ${handle}, which is not in flight`);
    const dataBytes = errno === NbdErrno.OK ? expected : 0;
    if (this.queue.length < SIMPLE_REPLY_BYTES + dataBytes) return null;
    this.queue.skip(SIMPLE_REPLY_BYTES);
    const reply: NbdReply<F> = { type: 'reply', handle, errno };
    if (dataBytes) reply.data = this.queue.takeAs(dataBytes, this.opts.payloadForm ?? ('buffer' as F));
    return reply;
  }
}

/** Decodes events until none is complete, stopping after a fatal one (the stream is then done). */
function drain<E extends { type: string }>(next: () => E | null): E[] {
  const out: E[] = [];
  for (let event = next(); event; event = next()) {
    out.push(event);
    if (event.type === 'fatal') break;
  }
  return out;
}
