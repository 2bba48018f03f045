// The node's NBD server at the byte level, over TCP: options, errnos, pipelining under the
// in-flight bound, closing when the volume moves away, and a fuzz of random and mutated streams
// that must never crash the node nor change a byte except by a valid write.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientHandshakeDecoder,
  NbdCmd,
  NbdErrno,
  NbdOpt,
  NbdRep,
  ReplyDecoder,
  RequestDecoder,
  encodeClientFlags,
  encodeExportNameOption,
  encodeGoOption,
  encodeOption,
  encodeRequest,
  type NbdReply,
  type OptionReply,
} from '../../storage-node/protocol/nbd.js';
import { exchange, startNbdNode, type NbdNode } from '../support/nbd-node.js';

const SIZE = 64 * 1024;
const go = (grant: string) => [encodeClientFlags(), encodeGoOption(grant)];
const read = (handle: bigint, offset: number, length: number) => encodeRequest({ command: NbdCmd.READ, flags: 0, handle, offset, length });
const write = (handle: bigint, offset: number, payload: Buffer) =>
  encodeRequest({ command: NbdCmd.WRITE, flags: 0, handle, offset, length: payload.length }, payload);

/** The server's answer, decoded: option replies, then the replies to `lengths` (handle → READ length). */
function decode(received: Buffer, lengths = new Map<bigint, number>()): { options: OptionReply[]; replies: NbdReply[]; fatal: boolean } {
  const hs = new ClientHandshakeDecoder();
  const events = hs.push(received);
  const replies = new ReplyDecoder((h) => lengths.get(h) ?? 0).push(hs.rest());
  return {
    options: events.filter((e): e is OptionReply => e.type === 'option-reply'),
    replies: replies.filter((e): e is NbdReply => e.type === 'reply'),
    fatal: [...events, ...replies].some((e) => e.type === 'fatal'),
  };
}

describe('the storage node NBD server on the wire', () => {
  let node: NbdNode;
  beforeAll(async () => {
    node = await startNbdNode({ maxInFlight: 8 });
    for (const id of ['w1', 'w2', 'fuzz', 'moving', 'deleting']) await node.create(id, SIZE);
  });
  afterAll(() => node.stop());

  it('answers LIST with an empty list, STARTTLS with ERR_POLICY, unknown options with ERR_UNSUP, bad GO data with ERR_INVALID', async () => {
    const { received } = await exchange(node.server.port, [
      encodeClientFlags(),
      encodeOption(NbdOpt.LIST),
      encodeOption(NbdOpt.STARTTLS),
      encodeOption(4),
      encodeOption(NbdOpt.STRUCTURED_REPLY),
      encodeOption(NbdOpt.GO, Buffer.alloc(3)),
      encodeOption(NbdOpt.ABORT),
    ]);
    expect(decode(received).options.map((o) => [o.option, o.reply])).toEqual([
      [NbdOpt.LIST, NbdRep.ACK],
      [NbdOpt.STARTTLS, NbdRep.ERR_POLICY],
      [4, NbdRep.ERR_UNSUP],
      [NbdOpt.STRUCTURED_REPLY, NbdRep.ERR_UNSUP],
      [NbdOpt.GO, NbdRep.ERR_INVALID],
      [NbdOpt.ABORT, NbdRep.ACK],
    ]);
  });

  it('EXPORT_NAME: a good grant gets size and flags (no zeroes when asked), a bad one a closed connection', async () => {
    const good = await exchange(node.server.port, [encodeClientFlags(), encodeExportNameOption(node.grant('w1', 'review'))], {
      keepOpen: true,
      timeoutMs: 300,
    });
    expect(good.received.length).toBe(18 + 10);
    expect(good.received.readBigUInt64BE(18)).toBe(BigInt(SIZE));
    const zeroes = await exchange(node.server.port, [encodeClientFlags(1), encodeExportNameOption(node.grant('w1', 'io'))], {
      keepOpen: true,
      timeoutMs: 300,
    });
    expect(zeroes.received.length).toBe(18 + 10 + 124);
    const bad = await exchange(node.server.port, [encodeClientFlags(), encodeExportNameOption('nope')], { keepOpen: true });
    expect(bad).toMatchObject({ closedByServer: true });
    expect(bad.received.length).toBe(18);
  });

  it('closes on a client without fixed newstyle', async () => {
    const r = await exchange(node.server.port, [encodeClientFlags(0)], { keepOpen: true });
    expect(r.closedByServer).toBe(true);
  });

  it('answers errnos the spec names and keeps the connection: EPERM on review, EINVAL, ENOSPC', async () => {
    const review = await exchange(node.server.port, [
      ...go(node.grant('w1', 'review')),
      write(1n, 0, Buffer.alloc(8, 1)),
      encodeRequest({ command: NbdCmd.TRIM, flags: 0, handle: 2n, offset: 0, length: 8 }),
      read(3n, 0, 8),
    ]);
    expect(decode(review.received, new Map([[3n, 8]])).replies.map((r) => [r.handle, r.errno])).toEqual([
      [1n, NbdErrno.EPERM],
      [2n, NbdErrno.EPERM],
      [3n, 0],
    ]);
    const io = await exchange(node.server.port, [
      ...go(node.grant('w1', 'io')),
      encodeRequest({ command: 42, flags: 0, handle: 4n, offset: 0, length: 0 }),
      read(5n, SIZE - 4, 8),
      write(6n, SIZE - 4, Buffer.alloc(8, 1)),
      encodeRequest({ command: NbdCmd.CACHE, flags: 0, handle: 7n, offset: 0, length: 8 }),
      read(8n, 0, 0),
    ]);
    expect(decode(io.received).replies.map((r) => [r.handle, r.errno])).toEqual([
      [4n, NbdErrno.EINVAL],
      [5n, NbdErrno.EINVAL],
      [6n, NbdErrno.ENOSPC],
      [7n, NbdErrno.EINVAL],
      [8n, 0],
    ]);
    expect((await node.data('w1')).every((b) => b === 0)).toBe(true);
  });

  it('pipelines 300 requests past the in-flight bound of 8, answering every one', async () => {
    const pieces = [...go(node.grant('w2', 'io'))];
    const lengths = new Map<bigint, number>();
    for (let i = 0; i < 300; i++) {
      const handle = BigInt(i) << 40n;
      if (i % 3 === 0) pieces.push(write(handle, (i * 97) % (SIZE - 64), Buffer.alloc(64, i & 0xff)));
      else pieces.push(read(handle, (i * 131) % (SIZE - 512), 512));
      lengths.set(handle, i % 3 === 0 ? 0 : 512);
    }
    pieces.push(
      encodeRequest({ command: NbdCmd.FLUSH, flags: 0, handle: 1n, offset: 0, length: 0 }),
      encodeRequest({ command: NbdCmd.DISC, flags: 0, handle: 2n, offset: 0, length: 0 }),
    );
    lengths.set(1n, 0);
    const { received } = await exchange(node.server.port, [Buffer.concat(pieces)], { keepOpen: true, timeoutMs: 10_000 });
    const { replies, fatal } = decode(received, lengths);
    expect(fatal).toBe(false);
    expect(replies.every((r) => r.errno === 0)).toBe(true);
    expect(new Set(replies.map((r) => r.handle))).toEqual(new Set(lengths.keys()));
  });

  it('a write longer than the maximum closes the connection; a client gone mid-request changes nothing', async () => {
    const before = await node.hash('w2');
    const long = encodeRequest({ command: NbdCmd.WRITE, flags: 0, handle: 1n, offset: 0, length: 4 * 1024 * 1024 + 1 });
    expect(
      await exchange(node.server.port, [...go(node.grant('w2', 'io')), long, Buffer.alloc(4096, 9)], { keepOpen: true }),
    ).toMatchObject({ closedByServer: true });
    const half = write(2n, 0, Buffer.alloc(4096, 7)).subarray(0, 28 + 2000);
    await exchange(node.server.port, [...go(node.grant('w2', 'io')), half], { timeoutMs: 300 });
    await exchange(node.server.port, [...go(node.grant('w2', 'io')), half.subarray(0, 20)], { timeoutMs: 300 });
    expect(await node.hash('w2')).toBe(before);
  });

  it('closes the connection (no EIO) when the copy is fenced or the volume deleted, even with a request held', async () => {
    await node.service.configure('moving', { role: 'secondary', epoch: 2, peer: null });
    const fenced = await exchange(node.server.port, [...go(node.grant('moving', 'io'))], { keepOpen: true, timeoutMs: 300 });
    expect(decode(fenced.received).options.at(-1)?.reply).toBe(NbdRep.ERR_UNKNOWN);
    await node.create('fenced', SIZE);
    await node.service.setIo('fenced', 'paused');
    const heldFenced = exchange(node.server.port, [...go(node.grant('fenced', 'io')), write(1n, 0, Buffer.alloc(16, 3))], {
      keepOpen: true,
      timeoutMs: 5000,
    });
    await new Promise((r) => setTimeout(r, 300));
    await node.service.configure('fenced', { role: 'secondary', epoch: 2, peer: null });
    await node.service.setIo('fenced', 'enabled');
    const f = await heldFenced;
    expect(f.closedByServer).toBe(true);
    expect(decode(f.received).replies).toEqual([]);
    expect((await node.data('fenced')).every((b) => b === 0)).toBe(true);
    await node.service.setIo('deleting', 'paused');
    const held = exchange(node.server.port, [...go(node.grant('deleting', 'io')), write(1n, 0, Buffer.alloc(16, 3))], {
      keepOpen: true,
      timeoutMs: 5000,
    });
    await new Promise((r) => setTimeout(r, 300));
    await node.service.delete('deleting');
    const r = await held;
    expect(r.closedByServer).toBe(true);
    expect(decode(r.received).replies).toEqual([]);
  });

  it('random and mutated streams never crash the node and change no byte except by a valid write', async () => {
    const valid = Buffer.concat([
      ...go(node.grant('fuzz', 'io')),
      write(1n, 4096, Buffer.alloc(512, 0xee)),
      read(2n, 0, 1024),
      encodeRequest({ command: NbdCmd.WRITE_ZEROES, flags: 0, handle: 3n, offset: 4200, length: 100 }),
      write(4n, 60_000, Buffer.alloc(64, 0x42)),
    ]);
    const handshakeBytes = Buffer.concat(go(node.grant('fuzz', 'io'))).length;
    let before = await node.data('fuzz');
    await fc.assert(
      fc.asyncProperty(mutatedStream(valid), fc.array(fc.nat(), { maxLength: 4 }), async (bytes, cuts) => {
        await exchange(node.server.port, cut(bytes, cuts), { timeoutMs: 1000 });
        const hosted = node.service.hosted('fuzz');
        await hosted.gate.serial(async () => undefined);
        const after = await node.data('fuzz');
        const writes = validWrites(bytes, handshakeBytes);
        for (let i = 0; i < SIZE; i++) {
          if (after[i] !== before[i])
            expect(
              writes.some((w) => i >= w.offset && i < w.offset + w.data.length && w.data[i - w.offset] === after[i]),
              `byte ${i}`,
            ).toBe(true);
        }
        before = after;
      }),
      { numRuns: 150 },
    );
    const alive = await exchange(node.server.port, [...go(node.grant('fuzz', 'review')), read(9n, 0, 16)]);
    expect(decode(alive.received, new Map([[9n, 16]])).replies).toMatchObject([{ handle: 9n, errno: 0 }]);
  });
});

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length || 1)))].sort((a, b) => a - b);
  return [...at, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : at[i - 1], end));
}

/** The writes a correct server may apply: those the codec decodes from the stream when its handshake prefix is intact. */
function validWrites(bytes: Buffer, handshakeBytes: number): { offset: number; data: Buffer }[] {
  const decoder = new RequestDecoder({ maxPayload: 4 * 1024 * 1024, exportSize: SIZE });
  const out: { offset: number; data: Buffer }[] = [];
  for (const e of decoder.push(bytes.subarray(handshakeBytes))) {
    if (e.type === 'fatal') break;
    if (e.type !== 'request') continue;
    if (e.command === NbdCmd.WRITE && e.payload) out.push({ offset: e.offset, data: e.payload });
    if (e.command === NbdCmd.WRITE_ZEROES || e.command === NbdCmd.TRIM) out.push({ offset: e.offset, data: Buffer.alloc(e.length) });
  }
  return out;
}

/** Random bytes, or the valid stream with bytes overwritten (handshake and requests alike), or cut short. */
function mutatedStream(valid: Buffer): fc.Arbitrary<Buffer> {
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((list) => {
    const copy = Buffer.from(valid);
    for (const [at, byte] of list) copy[at % copy.length] = byte;
    return copy;
  });
  return fc.oneof(
    edits,
    fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  );
}
