// The client half of the NBD handshake with a storage node: fixed newstyle, NBD_OPT_STARTTLS first
// when given the cluster CA (then the rest over TLS), and NBD_OPT_GO with the grant as the export
// name. Resolves with the socket ready for transmission.
import { connect, type Socket } from 'node:net';
import {
  ClientHandshakeDecoder,
  encodeClientFlags,
  encodeGoOption,
  encodeOption,
  type ClientHandshakeEvent,
} from '../storage-node/protocol/nbd-handshake.js';
import { HandshakeFlag, NbdInfo, NbdOpt, NbdRep } from '../storage-node/protocol/nbd-constants.js';
import type { ServingCopy } from './placement.js';
import { startTls, type NodeTls } from './node-tls.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;

export class NegotiationError extends Error {}

type Step = string | 'ready' | 'starttls' | null;

/** `tls`: the cluster CA; then TLS is required of the node (no plaintext fallback a man in the middle could force). */
export function negotiate(placement: ServingCopy, tls?: NodeTls): Promise<Socket> {
  return new Promise((resolve, reject) => new Negotiation(placement, tls, resolve, reject));
}

class Negotiation {
  private socket: Socket;
  private readonly decoder = new ClientHandshakeDecoder();
  private readonly timer: NodeJS.Timeout;
  private readonly onData = (chunk: Buffer) => this.onEvents(this.decoder.push(chunk));
  private readonly onClose = () => this.fail('connection closed during the handshake');
  private readonly onError = (err: Error) => this.fail(err.message);

  constructor(
    private readonly placement: ServingCopy,
    private readonly tls: NodeTls | undefined,
    private readonly resolve: (socket: Socket) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.socket = connect({ host: placement.host, port: placement.port, noDelay: true });
    this.timer = setTimeout(() => this.fail(`no handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s`), HANDSHAKE_TIMEOUT_MS);
    this.listen(true);
  }

  private listen(on: boolean): void {
    const method = on ? 'on' : 'off';
    this.socket[method]('data', this.onData)[method]('close', this.onClose)[method]('error', this.onError);
  }

  private fail(message: string): void {
    clearTimeout(this.timer);
    this.socket.destroy();
    const { nodeId, host, port } = this.placement;
    this.reject(new NegotiationError(`${nodeId} (${host}:${port}): ${message}`));
  }

  private onEvents(events: ClientHandshakeEvent[]): void {
    for (const event of events) {
      const outcome = this.step(event);
      if (outcome === 'ready') return this.ready();
      if (outcome === 'starttls') return this.upgrade();
      if (outcome) return this.fail(outcome);
    }
  }

  private step(event: ClientHandshakeEvent): Step {
    if (event.type === 'fatal') return event.message;
    if (event.type === 'greeting') {
      if (!(event.handshakeFlags & HandshakeFlag.FIXED_NEWSTYLE)) return 'server is not fixed-newstyle';
      this.socket.write(encodeClientFlags());
      this.socket.write(this.tls ? encodeOption(NbdOpt.STARTTLS) : this.go());
      return null;
    }
    if (event.type !== 'option-reply') return null;
    if (event.option === NbdOpt.STARTTLS)
      return event.reply === NbdRep.ACK ? 'starttls' : `the node does not offer TLS (${refusal(event)})`;
    if (event.option !== NbdOpt.GO || event.reply === NbdRep.INFO) return null;
    if (event.reply === NbdRep.ACK) return 'ready';
    if (event.reply === NbdRep.ERR_TLS_REQD) return 'the node requires TLS: give the cluster CA (--ca or BLACKSTART_CA)';
    return `export refused (${refusal(event)})`;
  }

  private go(): Buffer {
    return encodeGoOption(this.placement.exportName, [NbdInfo.BLOCK_SIZE]);
  }

  /** After the ACK to STARTTLS: TLS over the same socket, then GO over TLS. */
  private upgrade(): void {
    if (this.decoder.rest().length > 0) return this.fail('bytes after the STARTTLS acknowledgement, before TLS');
    this.listen(false);
    startTls(this.socket, this.placement.nodeId, this.tls!).then(
      (secured) => {
        this.socket = secured;
        this.listen(true);
        this.socket.write(this.go());
        this.onEvents(this.decoder.resume());
      },
      (err: Error) => this.fail(`TLS: ${err.message}`),
    );
  }

  private ready(): void {
    clearTimeout(this.timer);
    this.listen(false);
    this.socket.pause();
    const rest = this.decoder.rest();
    if (rest.length > 0) this.socket.unshift(rest);
    this.resolve(this.socket);
  }
}

function refusal(event: { reply: number; data: Buffer }): string {
  return `reply 0x${event.reply.toString(16)}${event.data.length ? `: ${event.data.toString('utf8')}` : ''}`;
}
