// The node-to-node wire formats: explicit big-endian layout, round trips, and decoding that
// returns an error value for any other bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from '../../common/types.js';
import {
  HEADER_BYTES,
  MessageKind,
  REPLICATION_MAGIC,
  decodeReplication,
  encodeMirror,
  encodeRebuildFinish,
  encodeRebuildRange,
  volumeTag,
  type ReplicationMessage,
} from '../../storage-node/protocol/replication.js';

const mirror = {
  volumeId: 'vol-a',
  epoch: 3,
  writes: [
    { seq: 41, offset: 5000, payload: Buffer.from('hello') },
    { seq: 42, offset: 0, payload: Buffer.from('!') },
  ],
};
const range = {
  volumeId: 'vol-a',
  epoch: 2,
  offset: 2 * BLOCK_SIZE,
  crcs: new Uint32Array([0x01020304, 0xdeadbeef]),
  payload: Buffer.alloc(2 * BLOCK_SIZE, 7),
};
const finish = { volumeId: 'vol-a', epoch: 2, writeSeq: 99, baseSnapshotId: 'snap-1', dirty: Buffer.from([1, 0, 128]) };

/** The header as the format comment specifies it, written field by field. */
function expectedHeader(kind: number, volumeId: string, epoch: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.set([0x42, 0x53, 0x52, 0x50, 2, kind, 0, 0]); // "BSRP", version 2, kind, reserved
  h.writeBigUInt64BE(BigInt(epoch), 8);
  h.writeBigUInt64BE(volumeTag(volumeId), 16);
  return h;
}

describe('the replication codec', () => {
  it('writes a mirror batch big-endian: header, count, then seq, offset, length, payload per write', () => {
    const bytes = encodeMirror(mirror);
    expect(bytes.subarray(0, HEADER_BYTES)).toEqual(expectedHeader(1, 'vol-a', 3));
    expect(bytes.subarray(HEADER_BYTES).toString('hex')).toBe(
      '00000002' +
        ('0000000000000029' + '0000000000001388' + '00000005' + Buffer.from('hello').toString('hex')) +
        ('000000000000002a' + '0000000000000000' + '00000001' + Buffer.from('!').toString('hex')),
    );
    expect(bytes.readUInt32BE(0)).toBe(REPLICATION_MAGIC);
  });

  it('writes rebuild CRCs as big-endian u32s, whatever the host byte order', () => {
    const bytes = encodeRebuildRange(range);
    expect(bytes.subarray(HEADER_BYTES + 12, HEADER_BYTES + 20).toString('hex')).toBe('01020304deadbeef');
  });

  it('round-trips each message kind', () => {
    expect(decodeReplication('vol-a', encodeMirror(mirror))).toEqual({ ok: true, message: { kind: MessageKind.Mirror, ...mirror } });
    expect(decodeReplication('vol-a', encodeRebuildRange(range))).toEqual({
      ok: true,
      message: { kind: MessageKind.RebuildRange, ...range },
    });
    expect(decodeReplication('vol-a', encodeRebuildFinish(finish))).toEqual({
      ok: true,
      message: { kind: MessageKind.RebuildFinish, ...finish },
    });
    const noBase = { ...finish, baseSnapshotId: null, dirty: Buffer.alloc(0) };
    expect(decodeReplication('vol-a', encodeRebuildFinish(noBase))).toEqual({
      ok: true,
      message: { kind: MessageKind.RebuildFinish, ...noBase },
    });
  });

  it('refuses a message sent to another volume', () => {
    expect(decodeReplication('vol-b', encodeMirror(mirror))).toMatchObject({ ok: false, error: 'the message is not for volume vol-b' });
  });

  it('refuses every truncation and any trailing byte', () => {
    for (const whole of [encodeMirror(mirror), encodeRebuildRange(range), encodeRebuildFinish(finish)]) {
      for (let cut = 0; cut < whole.length; cut++) expect(decodeReplication('vol-a', whole.subarray(0, cut)).ok).toBe(false);
      expect(decodeReplication('vol-a', Buffer.concat([whole, Buffer.from([0])])).ok).toBe(false);
    }
  });

  it('refuses bad magic, version, kind, reserved bits and out-of-range fields', () => {
    const corrupt = (at: number, value: number, from = encodeMirror(mirror)) => {
      const b = Buffer.from(from);
      b[at] = value;
      return decodeReplication('vol-a', b);
    };
    expect(corrupt(0, 0)).toMatchObject({ error: 'bad magic' });
    expect(corrupt(4, 1)).toMatchObject({ error: 'unsupported version 1' });
    expect(corrupt(5, 9)).toMatchObject({ error: 'unknown message kind 9' });
    expect(corrupt(7, 1)).toMatchObject({ error: 'reserved header bits are set' });
    expect(corrupt(8, 0xff)).toMatchObject({ error: 'epoch out of range' });
    expect(corrupt(HEADER_BYTES, 0xff)).toMatchObject({ error: 'a mirror batch carries 1 to 1024 writes' });
    expect(corrupt(HEADER_BYTES + 3, 0)).toMatchObject({ error: 'a mirror batch carries 1 to 1024 writes' });
    expect(corrupt(HEADER_BYTES + 4, 0xff)).toMatchObject({ error: 'seq and offset must be safe integers' });
    expect(corrupt(HEADER_BYTES + 4 + 25 + 7, 0x2b)).toMatchObject({ error: 'write 1 of the batch has seq 43, not 42' });
    expect(corrupt(HEADER_BYTES + 7, 1, encodeRebuildRange(range))).toMatchObject({ error: 'a rebuild range starts on a block boundary' });
  });

  it('returns an error value for random bytes, and for random mutations of valid messages, never throws', () => {
    const valid = [encodeMirror(mirror), encodeRebuildRange(range), encodeRebuildFinish(finish)];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeReplication('vol-a', Buffer.from(bytes));
        expect(decoded.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 40 }), (whole, at, value, cut) => {
        const b = Buffer.from(whole.subarray(0, Math.max(0, whole.length - cut)));
        if (b.length > 0) b[at % b.length] = value;
        const decoded = decodeReplication('vol-a', b);
        if (decoded.ok) expect(decodeReplication('vol-a', reencode(decoded.message))).toEqual(decoded);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any well-formed message', () => {
    const u = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    const write = fc.record({ offset: u, payload: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)) });
    fc.assert(
      fc.property(u, fc.nat({ max: Number.MAX_SAFE_INTEGER - 8 }), fc.array(write, { minLength: 1, maxLength: 8 }), (epoch, first, ws) => {
        const m = { volumeId: 'v', epoch, writes: ws.map((w, i) => ({ seq: first + i, ...w })) };
        expect(decodeReplication('v', encodeMirror(m))).toEqual({ ok: true, message: { kind: MessageKind.Mirror, ...m } });
      }),
    );
  });
});

function reencode(m: ReplicationMessage): Buffer {
  switch (m.kind) {
    case MessageKind.Mirror:
      return encodeMirror(m);
    case MessageKind.RebuildRange:
      return encodeRebuildRange(m);
    case MessageKind.RebuildFinish:
      return encodeRebuildFinish(m);
  }
}
