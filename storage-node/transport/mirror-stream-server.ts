// The secondary's side of the mirror stream: an HTTP Upgrade on the node's listeners (the plain
// port, and the TLS peer port when peer TLS is on, so mutual TLS applies as to any request) to
// protocol/mirror-stream.ts frames. Each request is authorized as the HTTP mirror endpoint
// authorizes one (replication-auth.ts), applied, and answered under its id; requests for
// different volumes run side by side, and answers go back in the order they finish.
import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { logger } from '../../common/log.js';
import type { NodeService } from '../node-service.js';
import {
  FrameDecoder,
  FrameType,
  MIRROR_STREAM_PATH,
  MIRROR_STREAM_PROTOCOL,
  encodeFrame,
  type MirrorRequest,
} from '../protocol/mirror-stream.js';
import { MessageKind } from '../protocol/replication.js';
import { toNodeError, type NodeAppOptions, type NodeCredentials } from './http-server.js';
import { fromVerifiedPeer } from './peer-tls.js';
import { setSocketOptions, STREAM_VOLUME_HEADER } from './mirror-stream-client.js';
import { authorizeReplication, replicationMessage } from './replication-auth.js';

type StreamOptions = Pick<NodeAppOptions, 'peerTls' | 'countReplication'>;

export class MirrorStreamServer {
  private readonly sockets = new Set<Duplex>();

  constructor(
    private readonly service: NodeService,
    private readonly credentials: () => NodeCredentials,
    private readonly options: StreamOptions = {},
  ) {}

  /** Takes mirror stream upgrades on `server`; any other upgrade is refused. */
  attach(server: Server | HttpsServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** Closes every open stream (a request in flight on one is then retried by its primary). */
  close(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== MIRROR_STREAM_PATH || req.headers.upgrade?.toLowerCase() !== MIRROR_STREAM_PROTOCOL) {
      return refuse(socket, 404, 'not-found', `upgrades are taken only at ${MIRROR_STREAM_PATH} to ${MIRROR_STREAM_PROTOCOL}`);
    }
    const tls = fromVerifiedPeer(socket);
    try {
      // The upgrade carries one volume's mirror token: a caller without one never gets to send a frame.
      authorizeReplication({ secret: this.credentials().mirrorToken, ...upgradeCredential(req), tls, mode: this.options.peerTls });
    } catch (err) {
      const e = toNodeError(err);
      return refuse(socket, e.status, e.code, e.message);
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${MIRROR_STREAM_PROTOCOL}\r\nconnection: Upgrade\r\n\r\n`);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    setSocketOptions(socket);
    const decoder = new FrameDecoder();
    const take = (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          if (frame.type !== FrameType.Request) throw new Error('a peer sent an answer frame to the node it mirrors to');
          void this.answer(socket, frame, tls);
        }
      } catch (err) {
        logger({ nodeId: this.service.nodeId }).warn({ err: (err as Error).message }, 'mirror stream closed: bad frame');
        socket.destroy();
      }
    };
    socket.on('data', take);
    if (head.length > 0) take(head);
  }

  private async answer(socket: Duplex, request: MirrorRequest, tls: boolean): Promise<void> {
    let answer = { status: 200, code: 'ok', text: '' };
    try {
      const { volumeId, token } = request;
      const caller = { secret: this.credentials().mirrorToken, volumeId, token, tls, mode: this.options.peerTls };
      const epoch = authorizeReplication(caller);
      this.options.countReplication?.(tls);
      const m = replicationMessage(MessageKind.Mirror, volumeId, request.message, epoch);
      await this.service.applyMirror(m.volumeId, m.epoch, m.writes);
    } catch (err) {
      const e = toNodeError(err);
      if (e.status >= 500 && e.code === 'internal') logger({ nodeId: this.service.nodeId }).error({ err }, 'mirror stream request failed');
      answer = { status: e.status, code: e.code, text: e.message };
    }
    if (!socket.destroyed) socket.write(encodeFrame({ type: FrameType.Answer, id: request.id, ...answer }));
  }
}

/** Answers an upgrade it will not take in the node's one error shape, then closes. */
/** The volume and bearer an upgrade request presents (empty when absent: refused as unauthenticated). */
function upgradeCredential(req: IncomingMessage): { volumeId: string; token: string } {
  const volume = req.headers[STREAM_VOLUME_HEADER];
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  let volumeId = '';
  try {
    volumeId = typeof volume === 'string' ? decodeURIComponent(volume) : '';
  } catch {
    // not percent-encoded properly: no volume, refused below
  }
  return { volumeId, token: bearer?.[1] ?? '' };
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
