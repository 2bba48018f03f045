// NBD over TLS in tests: certificates from a cluster CA of the test's own (scripts/node-certs.sh),
// the node's side (NbdTls) for startNbdNode, and a raw client that sends STARTTLS, takes the ACK
// and then speaks bytes over TLS.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ensureNodeCerts, type NodeCerts } from '../../cluster/node-certs.js';
import {
  ClientHandshakeDecoder,
  NbdOpt,
  NbdRep,
  encodeClientFlags,
  encodeOption,
  type OptionReply,
} from '../../storage-node/protocol/nbd.js';
import { loadNbdTls, type NbdTls, type NbdTlsMode } from '../../storage-node/transport/nbd-tls.js';

export interface TestCa extends NodeCerts {
  caPem: Buffer;
  /** The server side for `nodeId`, in `mode` (its certificate issued on first use). */
  serverTls(mode: Exclude<NbdTlsMode, 'off'>, nodeId: string): Promise<NbdTls>;
  remove(): Promise<void>;
}

export async function testCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-ca-'));
  const certs = await ensureNodeCerts(dir, []);
  return {
    ...certs,
    caPem: await readFile(certs.ca),
    async serverTls(mode, nodeId) {
      await ensureNodeCerts(dir, [{ nodeId }]);
      const files = { cert: join(dir, 'nodes', `${nodeId}.pem`), key: join(dir, 'nodes', `${nodeId}.key`), ca: certs.ca };
      return loadNbdTls(mode, files, nodeId)!;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What the server sent until it closed (or `timeoutMs`), after writing `pieces` on `socket`. */
export function collect(socket: Socket, pieces: Buffer[], timeoutMs = 2000): Promise<{ received: Buffer; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(received), closedByServer });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('end', () => finish(true));
    for (const piece of pieces) socket.write(piece);
  });
}

/** Greeting, client flags, STARTTLS and its reply on a new TCP connection: the reply, and the socket still in plaintext. */
export function sendStartTls(port: number, data?: Buffer): Promise<{ socket: Socket; reply: OptionReply | null }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const decoder = new ClientHandshakeDecoder();
    const done = (reply: OptionReply | null) => {
      socket.off('data', onData);
      resolve({ socket, reply });
    };
    const onData = (chunk: Buffer) => {
      for (const e of decoder.push(chunk)) {
        if (e.type === 'greeting') socket.write(Buffer.concat([encodeClientFlags(), encodeOption(NbdOpt.STARTTLS, data)]));
        else if (e.type === 'option-reply') return done(e);
        else if (e.type === 'fatal') return done(null);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => done(null));
    socket.on('error', () => undefined);
  });
}

/** A TLS session over the NBD connection, the node's certificate checked against `ca` for `nodeId`. */
export async function tlsSession(port: number, ca: Buffer, nodeId: string): Promise<TLSSocket> {
  const { socket, reply } = await sendStartTls(port);
  if (reply?.reply !== NbdRep.ACK) throw new Error(`STARTTLS refused: ${reply?.reply}`);
  return new Promise((resolve, reject) => {
    const secured = tlsConnect({ socket, ca, checkServerIdentity: (_h, cert) => checkServerIdentity(nodeId, cert) });
    secured.once('secureConnect', () => resolve(secured));
    secured.once('error', reject);
  });
}
