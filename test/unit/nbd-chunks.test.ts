// The codec's chunk form (what the attach endpoint forwards): payloads handed over as the chunks
// they arrived in, never copied, and the same messages however TCP cut the stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByteQueue,
  CmdFlag,
  NbdCmd,
  NbdErrno,
  ReplyDecoder,
  RequestDecoder,
  encodeRequest,
  encodeSimpleReply,
  joinChunks,
  sliceChunks,
  type NbdReply,
  type NbdRequest,
} from '../../storage-node/protocol/nbd.js';

/** A stream and the cut points it arrives in; each piece is a Buffer of its own, as a socket delivers. */
const stream = fc
  .uint8Array({ minLength: 0, maxLength: 600 })
  .chain((bytes) =>
    fc
      .array(fc.nat({ max: bytes.length }), { maxLength: 12 })
      .map((cuts) => ({ bytes: Buffer.from(bytes), pieces: cut(Buffer.from(bytes), cuts) })),
  );

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts)].sort((a, b) => a - b);
  return [...at, bytes.length].map((end, i) => Buffer.from(bytes.subarray(i === 0 ? 0 : at[i - 1], end)));
}

/** Every chunk handed over is a view into one of the Buffers pushed: nothing was copied. */
function viewsOf(pushed: Buffer[], chunks: Buffer[]): boolean {
  const buffers = new Set(pushed.map((p) => p.buffer));
  return chunks.every((c) => buffers.has(c.buffer));
}

describe('the receive queue', () => {
  it('gives the same bytes as the whole stream, whatever the pieces, taken whole or as chunks', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.tuple(fc.nat({ max: 80 }), fc.boolean()), { maxLength: 20 }), ({ bytes, pieces }, takes) => {
        const q = new ByteQueue();
        for (const p of pieces) q.push(p);
        let at = 0;
        for (const [n, asChunks] of takes) {
          const expected = n <= bytes.length - at ? bytes.subarray(at, at + n) : null;
          const got = asChunks ? q.takeChunks(n) : q.take(n);
          if (!expected) {
            expect(got).toBeNull();
            continue;
          }
          expect(Buffer.isBuffer(got) ? got : joinChunks(got!)).toEqual(expected);
          if (!Buffer.isBuffer(got)) expect(viewsOf(pieces, got!)).toBe(true);
          at += n;
          expect(q.length).toBe(bytes.length - at);
        }
        expect(q.takeAll()).toEqual(bytes.subarray(at));
      }),
    );
  });

  it('slices a chunk list without copying, and joins one chunk without copying', () => {
    fc.assert(
      fc.property(stream, fc.nat(), fc.nat(), ({ bytes, pieces }, a, b) => {
        const [from, to] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number];
        const slice = sliceChunks(pieces, from, to);
        expect(joinChunks(slice)).toEqual(bytes.subarray(from, to));
        expect(viewsOf(pieces, slice)).toBe(true);
      }),
    );
    const one = Buffer.from('one chunk');
    expect(joinChunks([one])).toBe(one);
  });
});

describe('decoding in chunk form', () => {
  const handle = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const validRequest = fc.record({
    command: fc.constantFrom(NbdCmd.READ, NbdCmd.WRITE, NbdCmd.FLUSH, NbdCmd.TRIM),
    flags: fc.constantFrom(0, CmdFlag.FUA),
    handle,
    offset: fc.integer({ min: 0, max: 1 << 19 }),
    length: fc.integer({ min: 0, max: 300 }),
  });
  const whole = <T extends { payload?: Buffer[] } | { data?: Buffer[] }>(e: T) =>
    'payload' in e ? { ...e, payload: joinChunks(e.payload!) } : 'data' in e ? { ...e, data: joinChunks(e.data!) } : e;

  it('requests: any split of the stream gives the same requests, their payloads views of what arrived', () => {
    fc.assert(
      fc.property(fc.array(validRequest, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (reqs, cuts) => {
        const bytes = Buffer.concat(
          reqs.map((r, i) => encodeRequest(r, r.command === NbdCmd.WRITE ? Buffer.alloc(r.length, i + 1) : undefined)),
        );
        const pieces = cut(
          bytes,
          cuts.map((c) => c % (bytes.length + 1)),
        );
        const d = new RequestDecoder({ maxPayload: 4096, exportSize: 1 << 20, payloadForm: 'chunks' });
        const events = pieces.flatMap((p) => d.push(p)) as NbdRequest<'chunks'>[];
        const oneBuffer = new RequestDecoder({ maxPayload: 4096, exportSize: 1 << 20 }).push(bytes);
        expect(events.map(whole)).toEqual(oneBuffer);
        expect(events.every((e) => !e.payload || viewsOf(pieces, e.payload))).toBe(true);
        expect(d.end()).toBeNull();
      }),
    );
  });

  it('replies: any split gives the same replies, their data views of what arrived, each only once all of it is there', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(handle, fc.integer({ min: 0, max: 300 }), fc.constantFrom(NbdErrno.OK, NbdErrno.EIO)), {
          maxLength: 6,
          selector: ([h]) => h,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (replies, cuts) => {
          const lengths = new Map(replies.map(([h, n]) => [h, n]));
          const bytes = Buffer.concat(
            replies.map(([h, n, errno], i) =>
              Buffer.concat([encodeSimpleReply(h, errno), errno ? Buffer.alloc(0) : Buffer.alloc(n, i + 1)]),
            ),
          );
          const pieces = cut(
            bytes,
            cuts.map((c) => c % (bytes.length + 1)),
          );
          const d = new ReplyDecoder((h) => lengths.get(h), { payloadForm: 'chunks' });
          const events = pieces.flatMap((p) => d.push(p)) as NbdReply<'chunks'>[];
          expect(events.map(whole)).toEqual(new ReplyDecoder((h) => lengths.get(h)).push(bytes));
          expect(events.every((e) => !e.data || viewsOf(pieces, e.data))).toBe(true);
          expect(d.end()).toBeNull();
        },
      ),
    );
  });

  it('holds back a reply until its last byte: a cut reply yields nothing', () => {
    const d = new ReplyDecoder(() => 8, { payloadForm: 'chunks' });
    const reply = Buffer.concat([encodeSimpleReply(1n, 0), Buffer.from('8 bytes!')]);
    expect(d.push(reply.subarray(0, 20))).toEqual([]);
    expect(d.end()).toMatchObject({ code: 'truncated' });
    const [event] = d.push(reply.subarray(20)) as NbdReply<'chunks'>[];
    expect(event!.data!.map(String)).toEqual(['8 by', 'tes!']);
  });
});
