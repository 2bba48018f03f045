// A small NBD client on the pure codec (fixed newstyle, NBD_OPT_GO, simple replies), for the
// held-release measurement: many requests in flight on one connection, each reply timestamped.
import { connect, type Socket } from 'node:net';
import {
  ClientHandshakeDecoder,
  HandshakeFlag,
  NbdCmd,
  NbdInfo,
  NbdOpt,
  NbdRep,
  ReplyDecoder,
  encodeClientFlags,
  encodeGoOption,
  encodeRequest,
  type ClientHandshakeEvent,
} from '../storage-node/protocol/nbd.js';

export type NbdTarget = { path: string } | { host: string; port: number };

export interface TimedReply {
  errno: number;
  data?: Buffer;
  /** performance.now() when the reply was decoded. */
  at: number;
}

interface InFlight {
  length: number;
  command: number;
  resolve: (reply: TimedReply) => void;
  reject: (err: Error) => void;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

export class NbdClient {
  private readonly inFlight = new Map<bigint, InFlight>();
  private nextHandle = 1n;
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    const decoder = new ReplyDecoder((handle) => {
      const r = this.inFlight.get(handle);
      return r && (r.command === NbdCmd.READ ? r.length : 0);
    });
    socket.on('data', (chunk: Buffer) => {
      const at = performance.now();
      for (const event of decoder.push(chunk)) {
        if (event.type === 'fatal') return void socket.destroy(new Error(event.message));
        const r = this.inFlight.get(event.handle)!;
        this.inFlight.delete(event.handle);
        r.resolve({ errno: event.errno, data: event.data, at });
      }
    });
    socket.on('close', () => this.failAll(this.closedError ?? new Error('connection closed')));
    socket.on('error', (err) => (this.closedError = err));
    socket.resume();
  }

  /** Connects and negotiates `exportName` (any name for the attach endpoint). */
  static async connect(target: NbdTarget, exportName = ''): Promise<NbdClient> {
    return new NbdClient(await handshake(target, exportName));
  }

  read(offset: number, length: number): Promise<TimedReply> {
    return this.send(NbdCmd.READ, offset, length);
  }

  write(offset: number, payload: Buffer): Promise<TimedReply> {
    return this.send(NbdCmd.WRITE, offset, payload.length, payload);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  close(): void {
    this.socket.destroy();
  }

  private send(command: number, offset: number, length: number, payload?: Buffer): Promise<TimedReply> {
    if (this.socket.destroyed) return Promise.reject(new Error('connection closed'));
    const handle = this.nextHandle++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(handle, { command, length, resolve, reject });
      this.socket.write(encodeRequest({ command, flags: 0, handle, offset, length }, payload));
    });
  }

  private failAll(err: Error): void {
    for (const r of this.inFlight.values()) r.reject(err);
    this.inFlight.clear();
  }
}

function handshake(target: NbdTarget, exportName: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port, noDelay: true });
    const decoder = new ClientHandshakeDecoder();
    const timer = setTimeout(() => fail('no handshake within 10 s'), HANDSHAKE_TIMEOUT_MS);
    function fail(message: string): void {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`NBD handshake: ${message}`));
    }
    const step = (event: ClientHandshakeEvent): string | 'ready' | null => {
      if (event.type === 'fatal') return event.message;
      if (event.type === 'greeting') {
        if (!(event.handshakeFlags & HandshakeFlag.FIXED_NEWSTYLE)) return 'server is not fixed-newstyle';
        socket.write(Buffer.concat([encodeClientFlags(), encodeGoOption(exportName, [NbdInfo.BLOCK_SIZE])]));
        return null;
      }
      if (event.type !== 'option-reply' || event.option !== NbdOpt.GO || event.reply === NbdRep.INFO) return null;
      return event.reply === NbdRep.ACK ? 'ready' : `export refused (reply 0x${event.reply.toString(16)})`;
    };
    const onData = (chunk: Buffer): void => {
      for (const event of decoder.push(chunk)) {
        const outcome = step(event);
        if (outcome === 'ready') {
          clearTimeout(timer);
          socket.off('data', onData).off('error', onError).off('close', onClose).pause();
          const rest = decoder.rest();
          if (rest.length > 0) socket.unshift(rest);
          return resolve(socket);
        }
        if (outcome) return fail(outcome);
      }
    };
    const onError = (err: Error): void => fail(err.message);
    const onClose = (): void => fail('connection closed during the handshake');
    socket.on('data', onData).on('error', onError).on('close', onClose);
  });
}
