// The attach path's connection to the volume's primary: an NBD client that follows the volume.
// Requests wait here — neither answered nor failed — while there is no primary to send them to;
// when the connection is lost (the node died, fenced its copy, or the volume moved) every
// unanswered request is sent again, in its original order, to wherever the API now says the
// volume is served. Requests fail only when the volume is gone for good (deleted or archived).
// Nothing is copied on the way: a write's payload is kept as the chunks the client's socket
// delivered (until the node answers it: a re-send needs it), and a read's data is handed on as
// the chunks the node's socket delivered, only once all of them have arrived — so a reply cut by a
// lost connection is never partly forwarded, and its request is simply sent again.
import type { Socket } from 'node:net';
import { jitteredBackoff, sleep } from '../common/http.js';
import { NbdCmd, NbdErrno } from '../storage-node/protocol/nbd-constants.js';
import { ReplyDecoder, encodeRequestHeader } from '../storage-node/protocol/nbd-transmission.js';
import { writeMessage } from '../storage-node/transport/write-message.js';
import { negotiate } from './negotiate.js';
import type { NodeTls } from './node-tls.js';
import { VolumeGoneError, samePlace, type Placement, type Resolver, type ServingCopy } from './placement.js';

export interface UpstreamRequest {
  command: number;
  flags: number;
  offset: number;
  length: number;
  /** A WRITE's bytes, as the chunks they arrived in. */
  payload?: Buffer[];
}

export interface UpstreamReply {
  errno: number;
  /** A successful READ's bytes, as the chunks they arrived in. */
  data?: Buffer[];
}

interface Pending {
  request: UpstreamRequest;
  resolve: (reply: UpstreamReply) => void;
}

export interface UpstreamOptions {
  /** How often the API is asked whether the volume moved while a connection looks healthy. */
  watchMs: number;
  /** The cluster CA: every connection to a node is then made over TLS. */
  tls?: NodeTls;
  log?: (line: string) => void;
}

export class Upstream {
  /** Unanswered requests by handle; a Map keeps insertion (arrival) order for re-sending. */
  private readonly pending = new Map<bigint, Pending>();
  private nextHandle = 1n;
  private socket: Socket | null = null;
  private current: ServingCopy | null = null;
  private gone: VolumeGoneError | null = null;
  private closed = false;
  private readonly wake = new Set<() => void>();

  constructor(
    private readonly resolve: Resolver,
    private readonly opts: UpstreamOptions,
  ) {}

  /** The placement answered first: the size and access the local endpoint advertises. */
  async start(): Promise<Placement> {
    const first = await this.resolve();
    void this.run(first);
    void this.watch();
    return first;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  send(request: UpstreamRequest): Promise<UpstreamReply> {
    if (this.gone || this.closed) return Promise.resolve({ errno: NbdErrno.ESHUTDOWN });
    return new Promise((resolve) => {
      const handle = this.nextHandle++;
      this.pending.set(handle, { request, resolve });
      if (this.socket) sendRequest(this.socket, handle, request);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.failAll();
    for (const w of this.wake) w();
  }

  private async run(first: Placement): Promise<void> {
    let placement: Placement | null = first;
    for (let attempt = 0; !this.closed && !this.gone; attempt++) {
      try {
        placement ??= await this.resolve();
        if (placement.serving) {
          await this.serve(placement.serving);
          attempt = -1; // served until lost: the next try is immediate
        }
      } catch (err) {
        if (err instanceof VolumeGoneError) return this.giveUp(err);
        this.opts.log?.(`attach: ${(err as Error).message}; retrying`);
      }
      placement = null;
      if (attempt >= 0) await this.pause(jitteredBackoff(Math.min(attempt, 5), 100, 2000));
    }
  }

  /** Connects, re-sends every unanswered request in order, and returns when the connection is lost. */
  private async serve(placement: ServingCopy): Promise<void> {
    const socket = await negotiate(placement, this.opts.tls);
    this.socket = socket;
    this.current = placement;
    this.opts.log?.(`attach: connected to ${placement.nodeId} at ${placement.host}:${placement.port}${this.opts.tls ? ' over TLS' : ''}`);
    const decoder = new ReplyDecoder((handle) => this.expectedBytes(handle), { payloadForm: 'chunks' });
    await new Promise<void>((done) => {
      socket.on('data', (chunk: Buffer) => {
        for (const event of decoder.push(chunk)) {
          if (event.type === 'fatal') return socket.destroy();
          this.answer(event.handle, { errno: event.errno, data: event.data });
        }
      });
      socket.on('close', () => done());
      socket.on('error', () => undefined);
      for (const [handle, p] of this.pending) sendRequest(socket, handle, p.request);
      socket.resume();
    });
    this.socket = null;
    this.current = null;
  }

  private expectedBytes(handle: bigint): number | undefined {
    const p = this.pending.get(handle);
    if (!p) return undefined;
    return p.request.command === NbdCmd.READ ? p.request.length : 0;
  }

  private answer(handle: bigint, reply: UpstreamReply): void {
    const p = this.pending.get(handle);
    if (!p) return;
    this.pending.delete(handle);
    p.resolve(reply);
  }

  /** One question to the API per interval, whatever the number of requests in flight. */
  private async watch(): Promise<void> {
    while (!this.closed && !this.gone) {
      await this.pause(this.opts.watchMs);
      const connected = this.current;
      if (!connected || this.closed) continue;
      try {
        const now = await this.resolve();
        if (!samePlace(now.serving, connected) && this.current === connected) {
          this.opts.log?.(`attach: volume moved from ${connected.nodeId} to ${now.serving?.nodeId ?? 'nowhere yet'}; reconnecting`);
          this.socket?.destroy();
        }
      } catch (err) {
        if (err instanceof VolumeGoneError) this.giveUp(err);
      }
    }
  }

  private giveUp(err: VolumeGoneError): void {
    this.gone = err;
    this.opts.log?.(`attach: ${err.message}; failing held requests`);
    this.socket?.destroy();
    this.failAll();
  }

  private failAll(): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.resolve({ errno: NbdErrno.ESHUTDOWN });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.wake.delete(wake);
        resolve();
      };
      this.wake.add(wake);
      void sleep(ms).then(wake);
    });
  }
}

function sendRequest(socket: Socket, handle: bigint, r: UpstreamRequest): void {
  const header = encodeRequestHeader({ command: r.command, flags: r.flags, handle, offset: r.offset, length: r.length });
  writeMessage(socket, header, r.payload);
}
