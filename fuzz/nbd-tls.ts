// The TLS side of an NBD case (the nodes run NODE_NBD_TLS=optional): STARTTLS before the case's
// option — a TLS session, checked against the cluster CA for the node, or a broken start — and a
// flood of idle connections past the node's pre-auth cap.
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ClientHandshakeDecoder, NbdOpt, NbdRep, encodeOption } from '../storage-node/protocol/nbd.js';
import { expand } from './bytes.js';
import type { NbdTransport } from './cases.js';
import { Wire } from './wire.js';

export interface TlsOutcome {
  /** The node's reply to STARTTLS: 'ack', an error reply's code, or none before it closed (or the deadline). */
  starttls: 'ack' | number | 'closed' | 'hang';
  /** The reply to a second STARTTLS over TLS (ERR_INVALID expected). */
  second?: number | 'ack' | 'closed' | 'hang';
  /** How a broken start ended (closed by the node expected), or why a TLS session failed. */
  end?: 'closed' | 'hang';
  error?: string;
}

export interface TlsContext {
  ca: Buffer;
  nodeId: string;
  timeoutMs: number;
}

/** STARTTLS as `t` says, after the client flags: the wire to go on with (TLS or still plaintext), or null when the case ends here. */
export async function startTls(
  wire: Wire,
  decoder: ClientHandshakeDecoder,
  t: NbdTransport,
  option: Buffer,
  ctx: TlsContext,
): Promise<{ wire: Wire | null; outcome: TlsOutcome }> {
  const data = t.kind === 'tls-data' ? expand(t.bytes) : undefined;
  wire.socket.write(Buffer.concat([encodeOption(NbdOpt.STARTTLS, data), t.kind === 'tls-injected' ? option : Buffer.alloc(0)]));
  const outcome: TlsOutcome = { starttls: await reply(wire, decoder, ctx.timeoutMs) };
  if (t.kind === 'tls-injected' || outcome.starttls !== 'ack') return { wire: t.kind === 'tls-data' ? wire : null, outcome };
  if (decoder.rest().length + wire.detach().length > 0)
    return { wire: null, outcome: { ...outcome, error: 'bytes after the ACK, before TLS' } };
  const raw = wire.socket;
  if (t.kind === 'tls-garbage' || t.kind === 'tls-truncated') {
    const bytes = t.kind === 'tls-garbage' ? expand(t.bytes) : (await clientHello()).subarray(0, t.cut);
    raw.write(bytes);
    if (t.kind === 'tls-truncated' && t.hangUp) raw.end();
    return { wire: null, outcome: { ...outcome, end: await new Wire(raw).closes(ctx.timeoutMs) } };
  }
  return secure(raw, decoder, t.kind === 'tls' && t.twice, ctx, outcome);
}

async function secure(
  raw: Socket,
  decoder: ClientHandshakeDecoder,
  twice: boolean,
  ctx: TlsContext,
  outcome: TlsOutcome,
): Promise<{ wire: Wire | null; outcome: TlsOutcome }> {
  let secured: TLSSocket;
  try {
    secured = await handshake(raw, ctx);
  } catch (err) {
    return { wire: null, outcome: { ...outcome, error: (err as Error).message } };
  }
  const wire = new Wire(secured);
  decoder.resume();
  if (twice) {
    secured.write(encodeOption(NbdOpt.STARTTLS));
    outcome.second = await reply(wire, decoder, ctx.timeoutMs);
  }
  return { wire, outcome };
}

function handshake(raw: Socket, ctx: TlsContext): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secured = tlsConnect({ socket: raw, ca: ctx.ca, checkServerIdentity: (_h, cert) => checkServerIdentity(ctx.nodeId, cert) });
    const timer = setTimeout(() => reject(new Error(`no TLS handshake within ${ctx.timeoutMs} ms`)), ctx.timeoutMs);
    secured.once('secureConnect', () => (clearTimeout(timer), resolve(secured)));
    secured.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/** The next option reply: 'ack', an error code, or how the wait ended. */
async function reply(wire: Wire, decoder: ClientHandshakeDecoder, timeoutMs: number): Promise<'ack' | number | 'closed' | 'hang'> {
  const r = await wire.until(
    (chunk) => decoder.push(chunk).find((e) => e.type === 'option-reply' || e.type === 'fatal') ?? null,
    timeoutMs,
  );
  if (typeof r === 'string') return r;
  if (r.type !== 'option-reply') return 'closed';
  return r.reply === NbdRep.ACK ? 'ack' : r.reply;
}

/** A real ClientHello, as the first bytes a TLS client writes. */
function clientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        resolve(Buffer.from(chunk));
        done();
        setImmediate(() => client.destroy());
      },
    });
    const client = tlsConnect({ socket: sink as unknown as Socket, servername: 'localhost' });
    client.on('error', () => undefined);
  });
}

export interface FloodOutcome {
  /** Idle connections greeted (admitted before a grant), closed at once (refused), or neither within the deadline. */
  greeted: number;
  refused: number;
  hung: number;
}

/** `count` idle connections at once; they stay open until `close()`, which waits until the node admits a new one again. */
export async function flood(
  host: string,
  port: number,
  count: number,
  timeoutMs: number,
): Promise<FloodOutcome & { close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const ends = await Promise.all(
    Array.from({ length: count }, () => {
      const socket = connect({ host, port });
      sockets.push(socket);
      return new Wire(socket).until(() => 'greeted' as const, timeoutMs);
    }),
  );
  return {
    greeted: ends.filter((e) => e === 'greeted').length,
    refused: ends.filter((e) => e === 'closed').length,
    hung: ends.filter((e) => e === 'hang').length,
    async close() {
      for (const s of sockets) s.destroy();
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const probe = new Wire(connect({ host, port }));
        const greeted = (await probe.until(() => true, 1000)) === true;
        probe.socket.destroy();
        if (greeted) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
