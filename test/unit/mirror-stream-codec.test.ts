// The mirror stream's frames: the byte layout the format comment gives, round trips, the same
// frames whatever chunks the stream arrives in, and a clear error (never a partial frame) for
// bytes that are not a frame.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameError,
  FrameType,
  MAX_FRAME_BYTES,
  encodeFrame,
  type Frame,
} from '../../storage-node/protocol/mirror-stream.js';

const request: Frame = { type: FrameType.Request, id: 7, token: 'tok', volumeId: 'vol-a', message: Buffer.from('BSRP…') };
const answer: Frame = { type: FrameType.Answer, id: 7, status: 409, code: 'stale-epoch', text: 'fenced' };

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant(FrameType.Request),
    id: fc.nat({ max: 0xffffffff }),
    token: fc.string({ maxLength: 60 }),
    volumeId: fc.string({ maxLength: 60 }),
    message: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  }),
  fc.record({
    type: fc.constant(FrameType.Answer),
    id: fc.nat({ max: 0xffffffff }),
    status: fc.integer({ min: 100, max: 599 }),
    code: fc.string({ maxLength: 40 }),
    text: fc.string({ maxLength: 100 }),
  }),
);

/** `bytes` cut at `cuts` (positions, any order, duplicates allowed). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length));
}

describe('the mirror stream frames', () => {
  it('write a request as length, type, id, then token, volume id and message', () => {
    const bytes = encodeFrame(request);
    const body = Buffer.concat([Buffer.from([0, 3]), Buffer.from('tok'), Buffer.from([0, 5]), Buffer.from('vol-a'), Buffer.from('BSRP…')]);
    expect(bytes.readUInt32BE(0)).toBe(bytes.length - 4);
    expect(bytes.subarray(4, 9).toString('hex')).toBe('01' + '00000007');
    expect(bytes.subarray(9)).toEqual(body);
  });

  it('write an answer as status, code length, code and message', () => {
    const bytes = encodeFrame(answer);
    expect(bytes.subarray(4, 9).toString('hex')).toBe('02' + '00000007');
    expect(bytes.subarray(9).toString('latin1')).toBe('\x01\x99\x0bstale-epochfenced');
  });

  it('decode to the frames encoded, whatever chunks the byte stream arrives in', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const decoder = new FrameDecoder();
        const bytes = Buffer.concat(frames.map(encodeFrame));
        const decoded = chunked(bytes, cuts).flatMap((c) => decoder.push(c));
        expect(decoded).toEqual(frames);
      }),
    );
  });

  it('hold a frame back until its last byte arrives', () => {
    const decoder = new FrameDecoder();
    const bytes = encodeFrame(request);
    expect(decoder.push(bytes.subarray(0, bytes.length - 1))).toEqual([]);
    expect(decoder.push(bytes.subarray(bytes.length - 1))).toEqual([request]);
  });

  it('refuse a length outside a frame bounds, an unknown type, and fields past the end, then stay refused', () => {
    const bad = [
      Buffer.from('00000002' + '0100', 'hex'), // shorter than type and id
      Buffer.from((MAX_FRAME_BYTES + 1).toString(16).padStart(8, '0'), 'hex'),
      Buffer.from('00000005' + '09' + '00000001', 'hex'), // type 9
      Buffer.from('00000008' + '01' + '00000001' + '00ff' + '61', 'hex'), // token of 255 bytes in a 1-byte field
      Buffer.from('00000006' + '02' + '00000001' + '01', 'hex'), // half a status
    ];
    for (const bytes of bad) {
      const decoder = new FrameDecoder();
      expect(() => decoder.push(bytes)).toThrow(FrameError);
      expect(() => decoder.push(encodeFrame(answer))).toThrow(FrameError);
    }
  });

  it('never decode garbage to anything but frames or a FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => {
        try {
          new FrameDecoder().push(Buffer.from(garbage));
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
    );
  });

  it('refuse to encode what the other side could not decode', () => {
    expect(() => encodeFrame({ ...request, token: 'x'.repeat(2000) } as Frame)).toThrow(FrameError);
    expect(() => encodeFrame({ ...answer, id: -1 } as Frame)).toThrow(FrameError);
  });
});
