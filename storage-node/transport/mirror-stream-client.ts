// The primary's side of the mirror stream: one connection per peer node, opened on first use
// with an HTTP Upgrade (over mutual TLS to the peer port when peer TLS is on), shared by every
// volume mirroring to that node, each batch sent under its own request id and answered under it.
// A connection that closes fails what is in flight on it (the write pipeline retries on a new
// one); a batch unanswered within the timeout closes its connection, since a silent link stalls
// every batch on it alike.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HttpError, httpErrorFrom } from '../../common/http.js';
import type { PeerRef } from '../../common/types.js';
import {
  FrameDecoder,
  FrameType,
  MIRROR_STREAM_PATH,
  MIRROR_STREAM_PROTOCOL,
  encodeFrame,
  type MirrorAnswer,
} from '../protocol/mirror-stream.js';
import { encodeMirror, type MirrorBatch } from '../protocol/replication.js';
import { expectingNode, type PeerTls } from './peer-tls.js';

/** How long a batch may wait for its answer, connecting included, as an HTTP mirror request could. */
export const MIRROR_TIMEOUT_MS = 5_000;

type StreamPeer = Pick<PeerRef, 'nodeId' | 'url'>;

/**
 * What opens a stream: a volume's mirror token for the peer node (the upgrade is refused without
 * a valid one, so nothing unauthenticated gets to send frames); each request carries its own too.
 */
export interface StreamCredential {
  volumeId: string;
  token: string;
}

/** The upgrade request's header naming the volume whose token is its bearer. */
export const STREAM_VOLUME_HEADER = 'x-blackstart-volume';

export class MirrorStreamPool {
  private readonly connections = new Map<string, Promise<MirrorConnection>>();
  /** Aborted by close(): connections still being opened give up. */
  private closing = new AbortController();

  constructor(
    private readonly tls?: PeerTls,
    private readonly timeoutMs = MIRROR_TIMEOUT_MS,
  ) {}

  /** The batch, applied on `peer`; an error answer throws the HttpError the HTTP endpoint would. */
  mirror = async (peer: PeerRef, m: Omit<MirrorBatch, 'kind'>, signal?: AbortSignal): Promise<void> => {
    const deadline = Date.now() + this.timeoutMs;
    const connection = await untilAborted(this.connection(peer, { volumeId: m.volumeId, token: peer.token }), signal);
    const frame = { token: peer.token, volumeId: m.volumeId, message: encodeMirror(m) };
    const answer = await connection.request(frame, deadline - Date.now(), signal);
    if (answer.status < 200 || answer.status >= 300) throw new HttpError(answer.status, answer.code, answer.text);
  };

  /** Closes every connection; what is in flight on them fails. */
  close(): void {
    this.closing.abort(new Error('mirror stream pool closed'));
    this.closing = new AbortController();
    for (const c of this.connections.values())
      void c.then(
        (conn) => conn.close(new Error('mirror stream pool closed')),
        () => undefined,
      );
    this.connections.clear();
  }

  /** The connection to `peer`'s node; a new one is opened with `credential` (any volume's mirror token for that node). */
  private connection(peer: StreamPeer, credential: StreamCredential): Promise<MirrorConnection> {
    const key = `${peer.nodeId} ${peer.url}`;
    const existing = this.connections.get(key);
    if (existing) return existing;
    const forget = () => {
      if (this.connections.get(key) === opened) this.connections.delete(key);
    };
    const opened = openStream(peer, credential, this.tls, this.timeoutMs, this.closing.signal).then(
      (s) => new MirrorConnection(s.socket, s.head, peer, forget),
    );
    opened.catch(forget);
    this.connections.set(key, opened);
    return opened;
  }
}

interface Pending {
  resolve: (answer: MirrorAnswer) => void;
  reject: (err: Error) => void;
}

class MirrorConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private closed: Error | null = null;

  constructor(
    private readonly socket: Duplex,
    head: Buffer,
    private readonly peer: StreamPeer,
    private readonly onClose: () => void,
  ) {
    setSocketOptions(socket);
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close(new Error(`the mirror stream to ${peer.nodeId} closed`)));
    this.idle();
    if (head.length > 0) this.take(head);
  }

  request(frame: { token: string; volumeId: string; message: Buffer }, timeoutMs: number, signal?: AbortSignal): Promise<MirrorAnswer> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return new Promise<MirrorAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => this.close(new Error(`no answer from ${this.peer.nodeId} on the mirror stream within ${timeoutMs} ms`)),
        Math.max(timeoutMs, 0),
      );
      const onAbort = () => settle(() => reject(signal!.reason as Error));
      const settle = (then: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        this.idle();
        then();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { resolve: (a) => settle(() => resolve(a)), reject: (e) => settle(() => reject(e)) });
      (this.socket as Partial<{ ref(): void }>).ref?.();
      this.socket.write(encodeFrame({ type: FrameType.Request, id, ...frame }));
    });
  }

  close(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    this.onClose();
    this.socket.destroy();
    for (const p of [...this.pending.values()]) p.reject(err);
  }

  private take(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.push(chunk)) {
        if (frame.type !== FrameType.Answer) throw new Error('the peer sent a request frame on a mirror stream it answers');
        this.pending.get(frame.id)?.resolve(frame); // none: its request was abandoned
      }
    } catch (err) {
      this.close(err as Error);
    }
  }

  /** An open connection with nothing in flight does not keep the process alive. */
  private idle(): void {
    if (this.pending.size === 0) (this.socket as Partial<{ unref(): void }>).unref?.();
  }
}

/** The upgraded socket to `peer`, or the HttpError of its refusal (403 peer-tls-required, …). */
function openStream(
  peer: StreamPeer,
  credential: StreamCredential,
  tls: PeerTls | undefined,
  timeoutMs: number,
  closing: AbortSignal,
): Promise<{ socket: Duplex; head: Buffer }> {
  const url = peer.url.replace(/\/$/, '') + MIRROR_STREAM_PATH;
  const headers = {
    connection: 'Upgrade',
    upgrade: MIRROR_STREAM_PROTOCOL,
    authorization: `Bearer ${credential.token}`,
    [STREAM_VOLUME_HEADER]: encodeURIComponent(credential.volumeId),
  };
  const req: ClientRequest = tls
    ? httpsRequest(url, { headers, agent: false, ...tls.client, ...expectingNode(peer.nodeId) })
    : httpRequest(url, { headers, agent: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => req.destroy(new Error(`connecting the mirror stream to ${peer.nodeId} took over ${timeoutMs} ms`)),
      timeoutMs,
    );
    const cancel = () => req.destroy(closing.reason as Error);
    closing.addEventListener('abort', cancel, { once: true });
    const done = () => (clearTimeout(timer), closing.removeEventListener('abort', cancel));
    req.once('error', (err) => (done(), reject(err)));
    req.once('upgrade', (_res: IncomingMessage, socket: Duplex, head: Buffer) => (done(), resolve({ socket, head })));
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', (err) => (done(), reject(err)));
      res.once('end', () => {
        done();
        reject(httpErrorFrom(res.statusCode ?? 0, res.statusMessage ?? '', Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.end();
  });
}

/** `promise`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: Error) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** Small frames go out at once, and a peer that vanished without a FIN is noticed. */
export function setSocketOptions(socket: Duplex): void {
  const s = socket as Partial<Socket>;
  s.setNoDelay?.(true);
  s.setKeepAlive?.(true, 5_000);
}
