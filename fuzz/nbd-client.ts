// Runs an NBD case against a storage node's NBD port: the handshake with the case's export name
// and option (in plaintext or over TLS, nbd-tls.ts), then its requests one at a time, each step
// with a deadline (a missed one is a hang).
import { connect } from 'node:net';
import { mirrorToken, nodeToken, signGrant, volumeMirrorToken } from '../common/tokens.js';
import {
  ClientHandshakeDecoder,
  NbdCmd,
  NbdOpt,
  NbdRep,
  ReplyDecoder,
  encodeClientFlags,
  encodeExportNameOption,
  encodeGoOption,
  encodeOption,
  encodeRequest,
  type ClientHandshakeEvent,
  type ReplyEvent,
} from '../storage-node/protocol/nbd.js';
import { expand } from './bytes.js';
import type { ExportName, NbdCase, NbdOp } from './cases.js';
import { flood, startTls, type FloodOutcome, type TlsContext, type TlsOutcome } from './nbd-tls.js';
import { copiesOf, nodeOf, volumeIdOf } from './resolve.js';
import { Wire } from './wire.js';
import type { World } from './world.js';

export type StepOutcome = 'ok' | 'error' | 'closed' | 'hang';

export interface NbdResult {
  handshake: 'ready' | 'refused' | 'closed' | 'hang' | 'answered';
  /** Export names the server listed (it should list none). */
  listed: string[];
  ops: { op: NbdOp; outcome: StepOutcome; errno?: number; data?: Buffer }[];
  volumeId: string;
  nodeId: string;
  access: 'io' | 'review' | null;
  /** STARTTLS and what followed, when the case sent it. */
  tls?: TlsOutcome;
  /** The idle connections opened past the pre-auth cap once the session transmitted. */
  flood?: FloodOutcome;
}

function exportNameOf(w: World, name: ExportName, volumeId: string, nodeId: string, epoch: number): string {
  const otherNode = w.nodes[(w.nodes.findIndex((n) => n.nodeId === nodeId) + 1) % w.nodes.length]!.nodeId;
  const sign = (access: 'io' | 'review', signer: string, key: string, expired: boolean) =>
    signGrant({ volumeId, nodeId: signer, access, expiresAt: Date.now() + (expired ? -1000 : 120_000) }, key);
  switch (name.kind) {
    case 'grant': {
      const signer = name.key === 'other-node' ? otherNode : nodeId;
      const key = name.key === 'wrong' ? `${signer}.forged` : nodeToken(w.clusterSecret, signer);
      return sign(name.access, signer, key, name.expired);
    }
    case 'mutated-grant': {
      const valid = sign('io', nodeId, nodeToken(w.clusterSecret, nodeId), false);
      const at = name.at % valid.length;
      const mutated = valid.slice(0, at) + name.char + valid.slice(at + 1);
      return mutated === valid ? `${valid}x` : mutated;
    }
    case 'raw':
      return name.text;
    case 'volume-id':
      return volumeId;
    case 'node-token':
      return nodeToken(w.clusterSecret, nodeId);
    case 'mirror-token':
      return volumeMirrorToken(mirrorToken(w.clusterSecret, nodeId), volumeId, epoch);
  }
}

type Negotiated = { state: NbdResult['handshake']; listed: string[]; rest: Buffer; wire: Wire; tls?: TlsOutcome };

function optionBytes(c: NbdCase, name: string): Buffer {
  return c.option === 'go'
    ? encodeGoOption(name)
    : c.option === 'info'
      ? encodeGoOption(name, [], NbdOpt.INFO)
      : c.option === 'export-name'
        ? encodeExportNameOption(name)
        : c.option === 'list'
          ? encodeOption(NbdOpt.LIST)
          : c.option === 'unknown-option'
            ? encodeOption(0x99, Buffer.from(name.slice(0, 64)))
            : expand({ seed: c.index, length: 40 });
}

async function negotiate(plain: Wire, c: NbdCase, name: string, ctx: TlsContext): Promise<Negotiated> {
  const { timeoutMs } = ctx;
  const decoder = new ClientHandshakeDecoder();
  const listed: string[] = [];
  const first = (want: (e: ClientHandshakeEvent) => boolean) => (chunk: Buffer) => decoder.push(chunk).find(want) ?? null;
  const greeting = await plain.until(
    first((e) => e.type === 'greeting' || e.type === 'fatal'),
    timeoutMs,
  );
  if (greeting === 'closed' || greeting === 'hang') return { state: greeting, listed, rest: Buffer.alloc(0), wire: plain };
  plain.socket.write(encodeClientFlags());
  const option = optionBytes(c, name);
  let wire = plain;
  let tls: TlsOutcome | undefined;
  if (c.transport.kind !== 'plain' && c.transport.kind !== 'preauth-flood') {
    const started = await startTls(plain, decoder, c.transport, option, ctx);
    tls = started.outcome;
    if (!started.wire) return { state: tls.end ?? 'refused', listed, rest: Buffer.alloc(0), wire: plain, tls };
    wire = started.wire;
  }
  if (c.option === 'export-name') decoder.expectExportNameReply(true);
  wire.socket.write(option);
  if (c.option === 'garbage') wire.socket.end();
  const final = await wire.until(
    first((e) => {
      if (e.type === 'option-reply' && e.reply === NbdRep.SERVER) listed.push(e.name ?? e.data.toString('utf8'));
      return (
        e.type === 'export' || e.type === 'fatal' || (e.type === 'option-reply' && e.reply !== NbdRep.INFO && e.reply !== NbdRep.SERVER)
      );
    }),
    timeoutMs,
  );
  if (final === 'closed' || final === 'hang') return { state: final, listed, rest: Buffer.alloc(0), wire, tls };
  const ready = final.type === 'export' || (final.type === 'option-reply' && final.reply === NbdRep.ACK && c.option === 'go');
  const answered = final.type === 'option-reply' && final.reply === NbdRep.ACK;
  return { state: ready ? 'ready' : answered ? 'answered' : 'refused', listed, rest: decoder.rest(), wire, tls };
}

async function runOp(wire: Wire, op: NbdOp, handle: bigint, timeoutMs: number): Promise<NbdResult['ops'][number]> {
  const expected = op.op === 'read' ? op.length : op.op === 'cmd' && op.command === NbdCmd.READ ? op.length : 0;
  const replies = new ReplyDecoder((h) => (h === handle ? expected : undefined));
  if (op.op === 'garbage') {
    wire.socket.end(expand(op.bytes));
    const closed = await wire.until<never>(() => null, timeoutMs);
    return { op, outcome: closed };
  }
  const data = op.op === 'write' ? expand(op.bytes) : undefined;
  const header =
    op.op === 'read'
      ? { command: NbdCmd.READ, flags: 0, offset: op.offset, length: op.length }
      : op.op === 'write'
        ? { command: NbdCmd.WRITE, flags: 0, offset: op.offset, length: data!.length }
        : { command: op.command, flags: op.flags, offset: op.offset, length: op.length };
  wire.socket.write(encodeRequest({ ...header, handle }, data));
  const reply = await wire.until((chunk) => replies.push(chunk)[0] ?? null, timeoutMs);
  if (reply === 'closed' || reply === 'hang') return { op, outcome: reply };
  return replyOutcome(op, reply);
}

function replyOutcome(op: NbdOp, reply: ReplyEvent): NbdResult['ops'][number] {
  if (reply.type === 'fatal') return { op, outcome: 'closed' };
  return reply.errno === 0 ? { op, outcome: 'ok', data: reply.data } : { op, outcome: 'error', errno: reply.errno };
}

export async function runNbdCase(w: World, c: NbdCase, timeoutMs: number): Promise<NbdResult> {
  const volumeId = volumeIdOf(w, c.volume, c.index);
  const nodeId = await nodeOf(w, c.node);
  const epoch = (await copiesOf(w, volumeId)).find((x) => x.nodeId === nodeId)?.epoch ?? 1;
  const name = exportNameOf(w, c.exportName, volumeId, nodeId, epoch);
  const access = c.exportName.kind === 'grant' ? c.exportName.access : c.exportName.kind === 'mutated-grant' ? 'io' : null;
  const { host, port } = w.nodes.find((n) => n.nodeId === nodeId)!.nbd;
  const socket = connect({ host, port, noDelay: true });
  const result: NbdResult = { handshake: 'hang', listed: [], ops: [], volumeId, nodeId, access };
  let idle: Awaited<ReturnType<typeof flood>> | null = null;
  try {
    const negotiated = await negotiate(new Wire(socket), c, name, { ca: w.nbdCa, nodeId, timeoutMs });
    Object.assign(result, { handshake: negotiated.state, listed: negotiated.listed, tls: negotiated.tls });
    if (negotiated.state !== 'ready') return result;
    const { wire } = negotiated;
    wire.unshift(negotiated.rest);
    if (c.transport.kind === 'preauth-flood') {
      idle = await flood(host, port, w.preAuthPerSource + c.transport.extra, timeoutMs);
      result.flood = { greeted: idle.greeted, refused: idle.refused, hung: idle.hung };
    }
    for (const [i, op] of c.ops.entries()) {
      const outcome = await runOp(wire, op, BigInt(i + 1), timeoutMs);
      result.ops.push(outcome);
      if (outcome.outcome === 'closed' || outcome.outcome === 'hang') break;
    }
    return result;
  } finally {
    socket.destroy();
    await idle?.close();
  }
}
