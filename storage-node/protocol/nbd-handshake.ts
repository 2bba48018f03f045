// The NBD fixed-newstyle handshake, both sides (spec: doc/proto.md "Handshake", "Option types",
// "Option reply types"). Pure: bytes in, typed messages out; no sockets.
//
// Server:  write encodeGreeting(); feed received bytes to a ServerHandshakeDecoder:
//            push(chunk) → [{type:'client-flags'}, {type:'option', option, data}, option-error, fatal…]
//          answer options with encodeOptionReply / encodeRepServer / encodeInfoExport /
//          encodeInfoBlockSize (NBD_OPT_GO and INFO data: parseGoData), or encodeExportNameReply.
//          Decoding pauses after GO and EXPORT_NAME: on success hand decoder.rest() to the
//          transmission RequestDecoder; after a refused GO call resume() to decode on. It pauses
//          after STARTTLS too: bytes already past it (rest()) were sent in plaintext before the
//          upgrade, and must not be read as if they came over TLS.
// Client:  feed received bytes to a ClientHandshakeDecoder: push(chunk) → greeting, option replies
//          (NBD_REP_INFO parsed into `info`); write encodeClientFlags(), then encodeGoOption(),
//          encodeOption(NbdOpt.LIST|ABORT), or encodeExportNameOption() after calling
//          decoder.expectExportNameReply(noZeroes). After the ACK to GO it pauses likewise, and
//          after the ACK to STARTTLS (resume() once TLS is up: the greeting is not sent again).
// Nothing throws out of push(): malformed input is an OptionError (answer it) or NbdFatal (close).
import { ByteQueue, fatal, type NbdFatal, type OptionError } from './nbd-bytes.js';
import {
  ClientFlag,
  EXPORT_NAME_REPLY_BYTES,
  EXPORT_NAME_ZEROES,
  GREETING_BYTES,
  HandshakeFlag,
  KNOWN_OPTIONS,
  MAX_STRING_BYTES,
  NbdInfo,
  NbdMagic,
  NbdOpt,
  NbdRep,
  OPTION_HEADER_BYTES,
  OPTION_REPLY_HEADER_BYTES,
} from './nbd-constants.js';

export interface ClientFlags {
  type: 'client-flags';
  flags: number;
  noZeroes: boolean;
}
export interface NbdOption {
  type: 'option';
  option: number;
  data: Buffer;
}
export type ServerHandshakeEvent = ClientFlags | NbdOption | OptionError | NbdFatal;

export interface BlockSizes {
  min: number;
  preferred: number;
  max: number;
}
export type InfoReply =
  | { type: 'export'; size: number; flags: number }
  | { type: 'block-size'; sizes: BlockSizes }
  | { type: 'name' | 'description'; text: string }
  | { type: 'unknown'; infoType: number };
export interface Greeting {
  type: 'greeting';
  handshakeFlags: number;
}
export interface OptionReply {
  type: 'option-reply';
  option: number;
  reply: number;
  data: Buffer;
  info?: InfoReply;
  name?: string;
}
export interface ExportNameReply {
  type: 'export';
  size: number;
  flags: number;
}
export type ClientHandshakeEvent = Greeting | OptionReply | ExportNameReply | NbdFatal;

export const SERVER_HANDSHAKE_FLAGS = HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES;

// ---- server side -------------------------------------------------------------------------

export function encodeGreeting(handshakeFlags = SERVER_HANDSHAKE_FLAGS): Buffer {
  const buf = Buffer.alloc(GREETING_BYTES);
  buf.writeBigUInt64BE(NbdMagic.INIT, 0);
  buf.writeBigUInt64BE(NbdMagic.IHAVEOPT, 8);
  buf.writeUInt16BE(handshakeFlags, 16);
  return buf;
}

const PAUSING_OPTIONS = new Set<number>([NbdOpt.GO, NbdOpt.EXPORT_NAME, NbdOpt.STARTTLS]);

/** Decodes the client flags, then options; stops (paused) after each GO, EXPORT_NAME or STARTTLS. */
export class ServerHandshakeDecoder {
  private readonly queue = new ByteQueue();
  private state: 'flags' | 'options' | 'paused' | 'failed' = 'flags';

  /** `maxOptionBytes` bounds one option's data; more is fatal (the rest would be read unbounded). */
  constructor(private readonly opts: { maxOptionBytes: number; handshakeFlags?: number }) {}

  push(chunk: Uint8Array): ServerHandshakeEvent[] {
    if (this.state !== 'failed') this.queue.push(chunk);
    return this.drain();
  }

  resume(): ServerHandshakeEvent[] {
    if (this.state === 'paused') this.state = 'options';
    return this.drain();
  }

  /** The bytes received after the last decoded option (the start of the transmission phase). */
  rest(): Buffer {
    return this.queue.takeAll();
  }

  /** The stream ended: bytes left over mean it was cut mid-message. */
  end(): NbdFatal | null {
    return this.queue.length > 0 && this.state !== 'failed'
      ? fatal('truncated', `stream ended inside a message (${this.queue.length} bytes left)`)
      : null;
  }

  private drain(): ServerHandshakeEvent[] {
    const out: ServerHandshakeEvent[] = [];
    for (let event = this.next(); event; event = this.next()) {
      out.push(event);
      if (event.type === 'fatal') this.state = 'failed';
      if (event.type === 'option' && PAUSING_OPTIONS.has(event.option)) this.state = 'paused';
    }
    return out;
  }

  private next(): ServerHandshakeEvent | null {
    if (this.state === 'flags') return this.clientFlags();
    if (this.state === 'options') return this.option();
    return null;
  }

  private clientFlags(): ServerHandshakeEvent | null {
    const bytes = this.queue.take(4);
    if (!bytes) return null;
    const flags = bytes.readUInt32BE(0);
    const advertised = this.opts.handshakeFlags ?? SERVER_HANDSHAKE_FLAGS;
    const allowed = ClientFlag.FIXED_NEWSTYLE | (advertised & HandshakeFlag.NO_ZEROES ? ClientFlag.NO_ZEROES : 0);
    if ((flags & ~allowed) !== 0 || !(flags & ClientFlag.FIXED_NEWSTYLE)) {
      return fatal('bad-client-flags', `client flags 0x${flags.toString(16)}: fixed newstyle required, no other flags than advertised`);
    }
    this.state = 'options';
    return { type: 'client-flags', flags, noZeroes: (flags & ClientFlag.NO_ZEROES) !== 0 };
  }

  private option(): ServerHandshakeEvent | null {
    const header = this.queue.peek(OPTION_HEADER_BYTES);
    if (!header) return null;
    if (header.readBigUInt64BE(0) !== NbdMagic.IHAVEOPT) return fatal('bad-magic', 'option does not start with IHAVEOPT');
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    if (length > this.opts.maxOptionBytes)
      return fatal('too-long', `option ${option} carries ${length} bytes (at most ${this.opts.maxOptionBytes})`);
    if (this.queue.length < OPTION_HEADER_BYTES + length) return null;
    const data = this.queue.take(OPTION_HEADER_BYTES + length)!.subarray(OPTION_HEADER_BYTES);
    if (!KNOWN_OPTIONS.has(option)) {
      return {
        type: 'option-error',
        code: 'unknown-option',
        option,
        reply: NbdRep.ERR_UNSUP,
        message: `option ${option} is not supported`,
      };
    }
    return { type: 'option', option, data: Buffer.from(data) };
  }
}

/** NBD_OPT_GO / NBD_OPT_INFO data: 32-bit name length, name, 16-bit count, 16-bit info types. */
export function parseGoData(option: number, data: Buffer): { name: string; infos: number[] } | OptionError {
  const invalid = (message: string): OptionError => ({
    type: 'option-error',
    code: 'bad-option-data',
    option,
    reply: NbdRep.ERR_INVALID,
    message,
  });
  if (data.length < 6) return invalid('option data shorter than 6 bytes');
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6 || nameLength > MAX_STRING_BYTES) return invalid('export name length past the option data');
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 6 + nameLength + 2 * count)
    return invalid(`option data is ${data.length} bytes, expected ${6 + nameLength + 2 * count}`);
  const infos: number[] = [];
  for (let i = 0; i < count; i++) infos.push(data.readUInt16BE(6 + nameLength + 2 * i));
  return { name: data.toString('utf8', 4, 4 + nameLength), infos };
}

export function encodeOptionReply(option: number, reply: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const buf = Buffer.alloc(OPTION_REPLY_HEADER_BYTES + data.length);
  buf.writeBigUInt64BE(NbdMagic.OPTION_REPLY, 0);
  buf.writeUInt32BE(option, 8);
  buf.writeUInt32BE(reply, 12);
  buf.writeUInt32BE(data.length, 16);
  buf.set(data, OPTION_REPLY_HEADER_BYTES);
  return buf;
}

/** An NBD_REP_ERR_* with a human-readable message. */
export function encodeOptionError(option: number, reply: number, message = ''): Buffer {
  return encodeOptionReply(option, reply, Buffer.from(message.slice(0, MAX_STRING_BYTES)));
}

/** NBD_REP_SERVER, one export in the answer to NBD_OPT_LIST. */
export function encodeRepServer(option: number, name: string): Buffer {
  const bytes = Buffer.from(name);
  const data = Buffer.alloc(4 + bytes.length);
  data.writeUInt32BE(bytes.length, 0);
  bytes.copy(data, 4);
  return encodeOptionReply(option, NbdRep.SERVER, data);
}

/** NBD_REP_INFO with NBD_INFO_EXPORT: 16-bit type, 64-bit size, 16-bit transmission flags. */
export function encodeInfoExport(option: number, size: number, flags: number): Buffer {
  const data = Buffer.alloc(12);
  data.writeUInt16BE(NbdInfo.EXPORT, 0);
  data.writeBigUInt64BE(BigInt(size), 2);
  data.writeUInt16BE(flags, 10);
  return encodeOptionReply(option, NbdRep.INFO, data);
}

/** NBD_REP_INFO with NBD_INFO_BLOCK_SIZE: 16-bit type, then minimum, preferred and maximum (32 bits each). */
export function encodeInfoBlockSize(option: number, sizes: BlockSizes): Buffer {
  const data = Buffer.alloc(14);
  data.writeUInt16BE(NbdInfo.BLOCK_SIZE, 0);
  data.writeUInt32BE(sizes.min, 2);
  data.writeUInt32BE(sizes.preferred, 6);
  data.writeUInt32BE(sizes.max, 10);
  return encodeOptionReply(option, NbdRep.INFO, data);
}

/** The answer to NBD_OPT_EXPORT_NAME: 64-bit size, 16-bit flags, 124 zeroes unless NO_ZEROES. */
export function encodeExportNameReply(size: number, flags: number, noZeroes: boolean): Buffer {
  const buf = Buffer.alloc(EXPORT_NAME_REPLY_BYTES + (noZeroes ? 0 : EXPORT_NAME_ZEROES));
  buf.writeBigUInt64BE(BigInt(size), 0);
  buf.writeUInt16BE(flags, 8);
  return buf;
}

// ---- client side -------------------------------------------------------------------------

const PAUSING_ACKS = new Set<number>([NbdOpt.GO, NbdOpt.STARTTLS]);

export function encodeClientFlags(flags = ClientFlag.FIXED_NEWSTYLE | ClientFlag.NO_ZEROES): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(flags, 0);
  return buf;
}

export function encodeOption(option: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const buf = Buffer.alloc(OPTION_HEADER_BYTES + data.length);
  buf.writeBigUInt64BE(NbdMagic.IHAVEOPT, 0);
  buf.writeUInt32BE(option, 8);
  buf.writeUInt32BE(data.length, 12);
  buf.set(data, OPTION_HEADER_BYTES);
  return buf;
}

/** NBD_OPT_GO (or INFO) for `name`, asking for the given NBD_INFO_* items. */
export function encodeGoOption(name: string, infos: number[] = [NbdInfo.BLOCK_SIZE], option: number = NbdOpt.GO): Buffer {
  const bytes = Buffer.from(name);
  const data = Buffer.alloc(6 + bytes.length + 2 * infos.length);
  data.writeUInt32BE(bytes.length, 0);
  bytes.copy(data, 4);
  data.writeUInt16BE(infos.length, 4 + bytes.length);
  infos.forEach((info, i) => data.writeUInt16BE(info, 6 + bytes.length + 2 * i));
  return encodeOption(option, data);
}

export function encodeExportNameOption(name: string): Buffer {
  return encodeOption(NbdOpt.EXPORT_NAME, Buffer.from(name));
}

/** Decodes the greeting, then option replies; pauses after the ACK to GO or STARTTLS, or the export-name reply. */
export class ClientHandshakeDecoder {
  private readonly queue = new ByteQueue();
  private state: 'greeting' | 'replies' | 'export-name' | 'paused' | 'failed' = 'greeting';
  private exportNameBytes = 0;

  constructor(private readonly opts: { maxReplyBytes: number } = { maxReplyBytes: 64 * 1024 }) {}

  push(chunk: Uint8Array): ClientHandshakeEvent[] {
    if (this.state !== 'failed') this.queue.push(chunk);
    const out: ClientHandshakeEvent[] = [];
    for (let event = this.next(); event; event = this.next()) {
      out.push(event);
      if (event.type === 'fatal') this.state = 'failed';
      if (event.type === 'export' || (event.type === 'option-reply' && PAUSING_ACKS.has(event.option) && event.reply === NbdRep.ACK))
        this.state = 'paused';
    }
    return out;
  }

  /** After the ACK to STARTTLS, once TLS carries the stream: decode option replies again. */
  resume(): ClientHandshakeEvent[] {
    if (this.state === 'paused') this.state = 'replies';
    return this.push(Buffer.alloc(0));
  }

  /** Call before sending NBD_OPT_EXPORT_NAME: its reply has no option-reply header. */
  expectExportNameReply(noZeroes: boolean): void {
    this.exportNameBytes = EXPORT_NAME_REPLY_BYTES + (noZeroes ? 0 : EXPORT_NAME_ZEROES);
    if (this.state === 'replies') this.state = 'export-name';
  }

  rest(): Buffer {
    return this.queue.takeAll();
  }

  end(): NbdFatal | null {
    return this.queue.length > 0 && this.state !== 'failed'
      ? fatal('truncated', `stream ended inside a message (${this.queue.length} bytes left)`)
      : null;
  }

  private next(): ClientHandshakeEvent | null {
    if (this.state === 'greeting') return this.greeting();
    if (this.state === 'replies') return this.reply();
    if (this.state === 'export-name') return this.exportName();
    return null;
  }

  private greeting(): ClientHandshakeEvent | null {
    const bytes = this.queue.take(GREETING_BYTES);
    if (!bytes) return null;
    if (bytes.readBigUInt64BE(0) !== NbdMagic.INIT || bytes.readBigUInt64BE(8) !== NbdMagic.IHAVEOPT) {
      return fatal('bad-magic', 'not a newstyle NBD server greeting');
    }
    this.state = this.exportNameBytes ? 'export-name' : 'replies';
    return { type: 'greeting', handshakeFlags: bytes.readUInt16BE(16) };
  }

  private exportName(): ClientHandshakeEvent | null {
    const bytes = this.queue.take(this.exportNameBytes);
    if (!bytes) return null;
    const size = bytes.readBigUInt64BE(0);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) return fatal('bad-reply', `export size ${size} is too large`);
    return { type: 'export', size: Number(size), flags: bytes.readUInt16BE(8) };
  }

  private reply(): ClientHandshakeEvent | null {
    const header = this.queue.peek(OPTION_REPLY_HEADER_BYTES);
    if (!header) return null;
    if (header.readBigUInt64BE(0) !== NbdMagic.OPTION_REPLY) return fatal('bad-magic', 'option reply with a bad magic');
    const length = header.readUInt32BE(16);
    if (length > this.opts.maxReplyBytes) return fatal('too-long', `option reply of ${length} bytes (at most ${this.opts.maxReplyBytes})`);
    if (this.queue.length < OPTION_REPLY_HEADER_BYTES + length) return null;
    const data = Buffer.from(this.queue.take(OPTION_REPLY_HEADER_BYTES + length)!.subarray(OPTION_REPLY_HEADER_BYTES));
    const reply: OptionReply = { type: 'option-reply', option: header.readUInt32BE(8), reply: header.readUInt32BE(12), data };
    if (reply.reply === NbdRep.INFO) {
      const info = parseInfo(data);
      if (!info) return fatal('bad-reply', `malformed NBD_REP_INFO of ${data.length} bytes`);
      reply.info = info;
    }
    if (reply.reply === NbdRep.SERVER) {
      const nameLength = data.length >= 4 ? data.readUInt32BE(0) : -1;
      if (nameLength < 0 || nameLength > data.length - 4) return fatal('bad-reply', 'malformed NBD_REP_SERVER');
      reply.name = data.toString('utf8', 4, 4 + nameLength);
    }
    return reply;
  }
}

function parseInfo(data: Buffer): InfoReply | null {
  if (data.length < 2) return null;
  const infoType = data.readUInt16BE(0);
  switch (infoType) {
    case NbdInfo.EXPORT: {
      if (data.length !== 12) return null;
      const size = data.readBigUInt64BE(2);
      return size > BigInt(Number.MAX_SAFE_INTEGER) ? null : { type: 'export', size: Number(size), flags: data.readUInt16BE(10) };
    }
    case NbdInfo.BLOCK_SIZE:
      if (data.length !== 14) return null;
      return { type: 'block-size', sizes: { min: data.readUInt32BE(2), preferred: data.readUInt32BE(6), max: data.readUInt32BE(10) } };
    case NbdInfo.NAME:
    case NbdInfo.DESCRIPTION:
      return { type: infoType === NbdInfo.NAME ? 'name' : 'description', text: data.toString('utf8', 2) };
    default:
      return { type: 'unknown', infoType };
  }
}
