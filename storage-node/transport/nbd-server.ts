// An NBD server (fixed newstyle only): handshake per connection, STARTTLS when given TLS
// (nbd-tls.ts), then pipelined requests — several in flight, answered as they complete, with a
// bound on requests and bytes in flight past which the socket is not read until some complete.
// What the exports are and what a command does is the caller's: a storage node's grants
// (nbd-export.ts) or the attach endpoint's one forwarded volume (attach/). The wire format lives
// in protocol/nbd*.ts.
import { createServer, type Server, type Socket } from 'node:net';
import {
  NbdCmd,
  NbdInfo,
  NbdOpt,
  NbdRep,
  RequestDecoder,
  ServerHandshakeDecoder,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeOptionError,
  encodeOptionReply,
  encodeRepServer,
  encodeSimpleReply,
  parseGoData,
  type BlockSizes,
  type NbdRequest,
  type RequestEvent,
  type ServerHandshakeEvent,
} from '../protocol/nbd.js';
import { readBuffers } from '../store/buffer-pool.js';
import { startTlsRefusal, upgradeServerSocket, type NbdTls } from './nbd-tls.js';
import { writeMessage } from './write-message.js';
import type { PreAuthLimit } from './pre-auth-limit.js';

/** What a name opens: its size and transmission flags (plus whatever its owner needs to run commands). */
export interface NbdExport {
  size: number;
  flags: number;
}

/** What to send back: an errno (and a READ's data, as the Buffers it is made of: written as they are), or close the connection. */
export type CommandResult = { errno: number; data?: Buffer[] } | 'close';

/** A decoded request; a WRITE's payload is the chunks it arrived in (`joinChunks` for one Buffer). */
export type NbdCommand = NbdRequest<'chunks'>;

export interface NbdExports<E extends NbdExport = NbdExport> {
  /**
   * The export `name` opens, or null: refused (ERR_UNKNOWN to GO/INFO, a closed connection to
   * EXPORT_NAME). `transmit`: the connection will use it (GO, EXPORT_NAME), not just ask (INFO);
   * `closed(exp)` is then called once when that connection ends. `session.tls`: TLS carries it.
   */
  open(name: string, transmit: boolean, session?: { tls: boolean }): E | null;
  closed?(exp: E): void;
  /** The names NBD_OPT_LIST answers. */
  list(): string[];
  blockSizes: BlockSizes;
  /** One decoded request, already checked against the export's size and the maximum payload. */
  run(exp: E, req: NbdCommand): Promise<CommandResult>;
}

export interface NbdServerOptions {
  exports: NbdExports;
  maxInFlight?: number;
  maxInFlightBytes?: number;
  maxOptionBytes?: number;
  maxOptions?: number;
  /** Closes a connection that has not entered transmission by then. */
  handshakeTimeoutMs?: number;
  /** Bounds the connections still in handshake (no grant presented yet); unbounded without. */
  preAuth?: PreAuthLimit;
  /** STARTTLS offered (or required); without, it is refused with ERR_POLICY. */
  tls?: NbdTls;
}

export interface RunningNbdServer {
  /** The TCP port bound (0 on a unix socket). */
  port: number;
  close(): Promise<void>;
}

/** A TCP address, or a unix socket's path. */
export type ListenOn = { port: number; host: string } | { path: string };

type Limits = Required<Omit<NbdServerOptions, 'exports' | 'preAuth' | 'tls'>>;
const DEFAULTS: Limits = {
  maxInFlight: 256,
  maxInFlightBytes: 64 * 1024 * 1024,
  maxOptionBytes: 8192,
  maxOptions: 64,
  handshakeTimeoutMs: 30_000,
};

export function startNbdServer(opts: NbdServerOptions, on: ListenOn): Promise<RunningNbdServer> {
  const limits = { ...DEFAULTS, ...stripUndefined(opts) } as Limits;
  const connections = new Set<NbdConnection>();
  // Half-open: a client that shuts its side after its last request still gets the replies.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const slot = opts.preAuth?.admit(socket.remoteAddress ?? 'local') ?? { release: () => undefined };
    if ('refused' in slot) return void socket.destroy();
    const connection = new NbdConnection(socket, opts, limits, {
      leftHandshake: slot.release,
      ended: () => connections.delete(connection),
    });
    connections.add(connection);
    connection.start();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const connection of connections) connection.close();
          }),
      });
    };
    if ('path' in on) server.listen(on.path, listening);
    else server.listen(on.port, on.host, listening);
  });
}

class NbdConnection {
  private readonly handshake: ServerHandshakeDecoder;
  /** TLS carries the connection (after STARTTLS). */
  private secured = false;
  private requests: RequestDecoder<'chunks'> | null = null;
  private exp: NbdExport | null = null;
  private noZeroes = false;
  private options = 0;
  private readonly waiting: NbdCommand[] = [];
  private inFlight = 0;
  private inFlightBytes = 0;
  private disconnecting = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private readonly handlers: Record<string, (chunk: Buffer) => void> = {
    data: (chunk: Buffer) => this.onData(chunk),
    error: () => this.close(),
    close: () => this.close(),
    end: () => this.onEnd(),
    drain: () => this.pump(),
  };

  constructor(
    /** The TCP socket, then the TLS socket over it after STARTTLS. */
    private socket: Socket,
    private readonly opts: NbdServerOptions,
    private readonly limits: Limits,
    private readonly hooks: {
      /** The connection left the handshake: it transmits (a grant opened its export) or it ended. Called again later: ignored. */
      leftHandshake: () => void;
      ended: () => void;
    },
  ) {
    this.handshake = new ServerHandshakeDecoder({ maxOptionBytes: limits.maxOptionBytes });
    this.timer = setTimeout(() => this.close(), limits.handshakeTimeoutMs);
  }

  start(): void {
    this.socket.setNoDelay(true);
    this.listen(this.socket, true);
    this.socket.write(encodeGreeting());
  }

  private listen(socket: Socket, on: boolean): void {
    for (const [event, handler] of Object.entries(this.handlers)) {
      if (on) socket.on(event, handler);
      else socket.off(event, handler);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.disconnecting) return;
    if (this.requests) this.onRequests(this.requests.push(chunk));
    else this.onHandshake(this.handshake.push(chunk));
  }

  /** The client sent its last byte: a cut request or handshake closes; otherwise finish what is in flight. */
  private onEnd(): void {
    if (!this.requests || this.requests.end()) return this.close();
    this.disconnecting = true;
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.ended();
    this.socket.destroy();
  }

  private ended(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.hooks.leftHandshake();
    this.hooks.ended();
    if (this.exp) this.opts.exports.closed?.(this.exp);
  }

  /** A soft disconnect: send `last`, then close our side. */
  private finish(last?: Buffer): void {
    if (this.closed) return;
    this.ended();
    const destroy = () => this.socket.destroy();
    if (last) this.socket.end(last, destroy);
    else this.socket.end(destroy);
  }

  // ---- handshake ------------------------------------------------------------------------

  private onHandshake(events: ServerHandshakeEvent[]): void {
    for (const event of events) {
      if (this.closed || this.requests) return;
      if (event.type === 'fatal') return this.close();
      if (event.type === 'client-flags') this.noZeroes = event.noZeroes;
      else if (++this.options > this.limits.maxOptions) return this.close();
      else if (event.type === 'option-error') this.optionError(event.option, event.reply, event.message);
      else this.onOption(event.option, event.data);
    }
  }

  /** FORCEDTLS: before TLS, every option but STARTTLS and ABORT is answered ERR_TLS_REQD. */
  private get tlsRequired(): boolean {
    return this.opts.tls?.mode === 'require' && !this.secured;
  }

  private optionError(option: number, reply: number, message: string): void {
    if (this.tlsRequired) this.socket.write(encodeOptionError(option, NbdRep.ERR_TLS_REQD, 'TLS is required: send NBD_OPT_STARTTLS first'));
    else this.socket.write(encodeOptionError(option, reply, message));
  }

  private onOption(option: number, data: Buffer): void {
    if (option === NbdOpt.STARTTLS) return this.startTls(data);
    if (this.tlsRequired && option !== NbdOpt.ABORT) return this.refuseBeforeTls(option);
    switch (option) {
      case NbdOpt.EXPORT_NAME:
        return this.exportName(data.toString('utf8'));
      case NbdOpt.GO:
      case NbdOpt.INFO:
        return this.goOrInfo(option, data);
      case NbdOpt.LIST:
        if (data.length) return void this.socket.write(encodeOptionError(option, NbdRep.ERR_INVALID, 'LIST takes no data'));
        for (const name of this.opts.exports.list()) this.socket.write(encodeRepServer(option, name));
        this.socket.write(encodeOptionReply(option, NbdRep.ACK));
        return;
      case NbdOpt.ABORT:
        return this.finish(encodeOptionReply(option, NbdRep.ACK));
      default:
        this.socket.write(encodeOptionError(option, NbdRep.ERR_UNSUP, `option ${option} is not supported`));
    }
  }

  /** EXPORT_NAME cannot be answered with an error: the spec's answer is to close. */
  private refuseBeforeTls(option: number): void {
    if (option === NbdOpt.EXPORT_NAME) return this.close();
    this.optionError(option, NbdRep.ERR_TLS_REQD, '');
    if (option === NbdOpt.GO) this.onHandshake(this.handshake.resume());
  }

  private startTls(data: Buffer): void {
    const refusal = startTlsRefusal(this.opts.tls, this.secured, data);
    if (refusal) {
      this.socket.write(encodeOptionError(NbdOpt.STARTTLS, refusal.reply, refusal.message));
      return this.onHandshake(this.handshake.resume());
    }
    // Bytes already past STARTTLS were sent in plaintext: taking them as if they came over TLS
    // would let a man in the middle inject options (nbdkit's CVE-2021-3716).
    if (this.handshake.rest().length > 0) return this.close();
    const raw = this.socket;
    raw.pause(); // what arrives now is the client's TLS handshake: the TLS socket reads it
    this.listen(raw, false);
    raw.on('error', () => this.close()).on('close', () => this.close());
    raw.write(encodeOptionReply(NbdOpt.STARTTLS, NbdRep.ACK), () => this.upgrade(raw));
  }

  /** The ACK is out (written before any TLS byte): TLS carries the connection from here on. */
  private upgrade(raw: Socket): void {
    if (this.closed) return;
    this.socket = upgradeServerSocket(raw, this.opts.tls!);
    this.secured = true;
    this.listen(this.socket, true);
    this.handshake.resume();
  }

  private exportName(name: string): void {
    const exp = this.opts.exports.open(name, true, { tls: this.secured });
    if (!exp) return this.close(); // the spec's only answer to an EXPORT_NAME it refuses
    this.socket.write(encodeExportNameReply(exp.size, exp.flags, this.noZeroes));
    this.transmit(exp);
  }

  private goOrInfo(option: number, data: Buffer): void {
    const parsed = parseGoData(option, data);
    if ('type' in parsed) {
      this.socket.write(encodeOptionError(option, parsed.reply, parsed.message));
      return this.onHandshake(this.handshake.resume());
    }
    const exp = this.opts.exports.open(parsed.name, option === NbdOpt.GO, { tls: this.secured });
    if (!exp) {
      this.socket.write(encodeOptionError(option, NbdRep.ERR_UNKNOWN, 'no such export'));
      return this.onHandshake(this.handshake.resume());
    }
    this.socket.write(encodeInfoExport(option, exp.size, exp.flags));
    if (parsed.infos.includes(NbdInfo.BLOCK_SIZE) || option === NbdOpt.GO)
      this.socket.write(encodeInfoBlockSize(option, this.opts.exports.blockSizes));
    this.socket.write(encodeOptionReply(option, NbdRep.ACK));
    if (option === NbdOpt.GO) this.transmit(exp);
    else this.onHandshake(this.handshake.resume());
  }

  // ---- transmission ---------------------------------------------------------------------

  private transmit(exp: NbdExport): void {
    clearTimeout(this.timer);
    this.hooks.leftHandshake();
    this.exp = exp;
    this.requests = new RequestDecoder({ maxPayload: this.opts.exports.blockSizes.max, exportSize: exp.size, payloadForm: 'chunks' });
    this.onRequests(this.requests.push(this.handshake.rest()));
  }

  private onRequests(events: RequestEvent<'chunks'>[]): void {
    for (const event of events) {
      if (this.closed || this.disconnecting) return;
      if (event.type === 'fatal') return this.close();
      if (event.type === 'request-error') this.reply(event.handle, event.errno);
      else if (event.command === NbdCmd.DISC) this.disconnecting = true;
      else this.waiting.push(event);
    }
    this.pump();
  }

  /**
   * Starts waiting requests while under the bounds; reads the socket only while nothing waits.
   * Replies not yet sent count against the byte bound too: a client that stops reading its
   * replies stops being read.
   */
  private pump(): void {
    while (this.waiting.length > 0 && !this.closed) {
      if (this.saturated(costOf(this.waiting[0]!)) && (this.inFlight > 0 || this.socket.writableLength > 0)) break;
      const req = this.waiting.shift()!;
      this.run(req, costOf(req));
    }
    if (this.closed) return;
    if (this.disconnecting && this.inFlight === 0 && this.waiting.length === 0) return this.finish();
    if (this.waiting.length > 0 || this.saturated(0) || this.disconnecting) this.socket.pause();
    else this.socket.resume();
  }

  private saturated(cost: number): boolean {
    const { maxInFlight, maxInFlightBytes } = this.limits;
    return this.inFlight >= maxInFlight || this.inFlightBytes + cost > maxInFlightBytes || this.socket.writableLength >= maxInFlightBytes;
  }

  private run(req: NbdCommand, cost: number): void {
    this.inFlight += 1;
    this.inFlightBytes += cost;
    void this.opts.exports.run(this.exp!, req).then((result) => {
      this.inFlight -= 1;
      this.inFlightBytes -= cost;
      if (this.closed) return;
      if (result === 'close') return this.close();
      this.reply(req.handle, result.errno, result.data);
      this.pump();
    });
  }

  private reply(handle: bigint, errno: number, data?: Buffer[]): void {
    const release = data && (() => data.forEach((buf) => readBuffers.release(buf)));
    writeMessage(this.socket, encodeSimpleReply(handle, errno), data, release);
  }
}

function costOf(req: NbdCommand): number {
  return req.command === NbdCmd.READ || req.command === NbdCmd.WRITE ? req.length : 0;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
