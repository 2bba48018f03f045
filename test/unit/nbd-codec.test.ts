// The NBD codec against byte fixtures built from the spec (NetworkBlockDevice doc/proto.md),
// split at every offset, round-tripped client ↔ server, and fuzzed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClientHandshakeDecoder,
  CmdFlag,
  NbdCmd,
  NbdErrno,
  NbdInfo,
  NbdOpt,
  NbdRep,
  ReplyDecoder,
  RequestDecoder,
  ServerHandshakeDecoder,
  TransmissionFlag,
  encodeClientFlags,
  encodeExportNameOption,
  encodeExportNameReply,
  encodeGoOption,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeOption,
  encodeOptionError,
  encodeOptionReply,
  encodeRepServer,
  encodeRequest,
  encodeSimpleReply,
  parseGoData,
} from '../../storage-node/protocol/nbd.js';

// ---- a byte builder; every integer big-endian ("network byte order", spec: Conventions) ----
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u64 = (n: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const wire = (...parts: (Buffer | string)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

const NBDMAGIC = u64(0x4e42444d41474943n); // spec "Newstyle negotiation": ASCII 'NBDMAGIC'
const IHAVEOPT = u64(0x49484156454f5054n); // ASCII 'IHAVEOPT'
const REP_MAGIC = u64(0x3e889045565a9n); // spec "Fixed newstyle negotiation": option reply magic
const REQ_MAGIC = u32(0x25609513); // spec "Request message"
const SIMPLE_MAGIC = u32(0x67446698); // spec "Simple reply message"

/** spec "Newstyle negotiation": C: IHAVEOPT, 32-bit option, 32-bit length, data. */
const option = (opt: number, data: Buffer = Buffer.alloc(0)) => wire(IHAVEOPT, u32(opt), u32(data.length), data);
/** spec "NBD_OPT_INFO and NBD_OPT_GO": 32-bit name length, name, 16-bit count, 16-bit infos. */
const goData = (name: string, infos: number[]) => wire(u32(Buffer.byteLength(name)), name, u16(infos.length), ...infos.map(u16));
/** spec "Request message": magic, 16-bit flags, 16-bit type, 64-bit handle, 64-bit offset, 32-bit length. */
const request = (type: number, handle: bigint, offset: bigint | number, length: number, flags = 0, payload = Buffer.alloc(0)) =>
  wire(REQ_MAGIC, u16(flags), u16(type), u64(handle), u64(offset), u32(length), payload);

/** Feeds `bytes` in two pieces cut at `at`, collecting every event. */
function split<T>(push: (b: Buffer) => T[], bytes: Buffer, at: number): T[] {
  return [...push(bytes.subarray(0, at)), ...push(bytes.subarray(at))];
}
const serverDecoder = () => new ServerHandshakeDecoder({ maxOptionBytes: 8192 });
const requestDecoder = () => new RequestDecoder({ maxPayload: 4096, exportSize: 1 << 20 });

describe('the server side of the handshake', () => {
  it('greets with NBDMAGIC, IHAVEOPT and FIXED_NEWSTYLE | NO_ZEROES', () => {
    expect(encodeGreeting()).toEqual(wire(NBDMAGIC, IHAVEOPT, u16(0b11)));
  });

  it('decodes the client flags, then options, at every split', () => {
    const bytes = wire(u32(0b11), option(NbdOpt.LIST), option(NbdOpt.GO, goData('grant.x', [NbdInfo.BLOCK_SIZE])));
    const whole = serverDecoder().push(bytes);
    expect(whole).toEqual([
      { type: 'client-flags', flags: 3, noZeroes: true },
      { type: 'option', option: NbdOpt.LIST, data: Buffer.alloc(0) },
      { type: 'option', option: NbdOpt.GO, data: goData('grant.x', [NbdInfo.BLOCK_SIZE]) },
    ]);
    for (let at = 0; at <= bytes.length; at++) {
      const d = serverDecoder();
      expect(split((b) => d.push(b), bytes, at)).toEqual(whole);
    }
  });

  it('closes on a client without fixed newstyle or with flags it was not offered', () => {
    expect(serverDecoder().push(u32(0))[0]).toMatchObject({ type: 'fatal', code: 'bad-client-flags' });
    expect(serverDecoder().push(u32(0b101))[0]).toMatchObject({ type: 'fatal', code: 'bad-client-flags' });
    const noZeroesOffered = new ServerHandshakeDecoder({ maxOptionBytes: 10, handshakeFlags: 1 });
    expect(noZeroesOffered.push(u32(0b11))[0]).toMatchObject({ type: 'fatal' });
  });

  it('answers an unknown option with ERR_UNSUP and goes on; a bad magic or an oversize option is fatal', () => {
    const d = serverDecoder();
    const events = d.push(wire(u32(1), option(4, Buffer.from('peek')), option(NbdOpt.ABORT)));
    expect(events.slice(1)).toEqual([
      { type: 'option-error', code: 'unknown-option', option: 4, reply: NbdRep.ERR_UNSUP, message: expect.any(String) },
      { type: 'option', option: NbdOpt.ABORT, data: Buffer.alloc(0) },
    ]);
    expect(serverDecoder().push(wire(u32(1), u64(1), u32(1), u32(0)))[1]).toMatchObject({ type: 'fatal', code: 'bad-magic' });
    expect(serverDecoder().push(wire(u32(1), IHAVEOPT, u32(NbdOpt.GO), u32(8193)))[1]).toMatchObject({ type: 'fatal', code: 'too-long' });
  });

  it('pauses after GO: on success the rest is transmission, after a refusal resume() decodes on', () => {
    const d = serverDecoder();
    const after = request(NbdCmd.READ, 1n, 0, 512);
    expect(d.push(wire(u32(1), option(NbdOpt.GO, goData('a', [])), option(NbdOpt.ABORT)))).toHaveLength(2);
    expect(d.resume()).toEqual([{ type: 'option', option: NbdOpt.ABORT, data: Buffer.alloc(0) }]);
    const e = serverDecoder();
    e.push(wire(u32(1), option(NbdOpt.EXPORT_NAME, Buffer.from('a')), after));
    expect(e.rest()).toEqual(after);
  });

  it('parses GO data and refuses a malformed one with ERR_INVALID', () => {
    expect(parseGoData(NbdOpt.GO, goData('vol', [NbdInfo.EXPORT, NbdInfo.BLOCK_SIZE]))).toEqual({ name: 'vol', infos: [0, 3] });
    expect(parseGoData(NbdOpt.GO, wire(u32(99), 'x', u16(0)))).toMatchObject({ type: 'option-error', reply: NbdRep.ERR_INVALID });
    expect(parseGoData(NbdOpt.INFO, wire(goData('x', [1]), Buffer.from([0])))).toMatchObject({ type: 'option-error' });
    expect(parseGoData(NbdOpt.INFO, Buffer.alloc(3))).toMatchObject({ type: 'option-error' });
  });

  it('encodes option replies as the spec lays them out', () => {
    expect(encodeOptionReply(NbdOpt.LIST, NbdRep.ACK)).toEqual(wire(REP_MAGIC, u32(3), u32(1), u32(0)));
    expect(encodeRepServer(NbdOpt.LIST, 'ab')).toEqual(wire(REP_MAGIC, u32(3), u32(2), u32(6), u32(2), 'ab'));
    // NBD_INFO_EXPORT: 16-bit type, 64-bit size, 16-bit flags; length 12
    expect(encodeInfoExport(NbdOpt.GO, 1 << 20, 0x13)).toEqual(wire(REP_MAGIC, u32(7), u32(3), u32(12), u16(0), u64(1 << 20), u16(0x13)));
    // NBD_INFO_BLOCK_SIZE: 16-bit type, three 32-bit sizes; length 14
    expect(encodeInfoBlockSize(NbdOpt.GO, { min: 1, preferred: 4096, max: 1 << 22 })).toEqual(
      wire(REP_MAGIC, u32(7), u32(3), u32(14), u16(3), u32(1), u32(4096), u32(1 << 22)),
    );
    expect(encodeOptionError(NbdOpt.GO, NbdRep.ERR_UNKNOWN, 'no')).toEqual(wire(REP_MAGIC, u32(7), u32(0x80000006), u32(2), 'no'));
    // spec "Newstyle negotiation": 64-bit size, 16-bit flags, 124 zeroes unless NO_ZEROES
    expect(encodeExportNameReply(4096, 1, false)).toEqual(wire(u64(4096), u16(1), Buffer.alloc(124)));
    expect(encodeExportNameReply(4096, 1, true)).toEqual(wire(u64(4096), u16(1)));
  });

  it('reports a stream cut inside an option', () => {
    const d = serverDecoder();
    d.push(wire(u32(1), option(NbdOpt.GO, goData('abc', [])).subarray(0, 20)));
    expect(d.end()).toMatchObject({ type: 'fatal', code: 'truncated' });
  });
});

describe('the client side of the handshake', () => {
  it('encodes flags and options as the server decodes them', () => {
    expect(encodeClientFlags()).toEqual(u32(3));
    expect(encodeGoOption('n', [NbdInfo.BLOCK_SIZE])).toEqual(option(NbdOpt.GO, goData('n', [3])));
    expect(encodeExportNameOption('n')).toEqual(option(NbdOpt.EXPORT_NAME, Buffer.from('n')));
    expect(encodeOption(NbdOpt.ABORT)).toEqual(option(NbdOpt.ABORT));
  });

  it('decodes the greeting and the replies to GO at every split, then pauses', () => {
    const bytes = wire(
      encodeGreeting(),
      encodeInfoExport(NbdOpt.GO, 8192, 0x1ff),
      encodeInfoBlockSize(NbdOpt.GO, { min: 1, preferred: 4096, max: 4096 }),
      encodeOptionReply(NbdOpt.GO, NbdRep.ACK),
      encodeSimpleReply(9n, 0),
    );
    const whole = new ClientHandshakeDecoder().push(bytes);
    expect(whole).toEqual([
      { type: 'greeting', handshakeFlags: 3 },
      expect.objectContaining({ option: NbdOpt.GO, reply: NbdRep.INFO, info: { type: 'export', size: 8192, flags: 0x1ff } }),
      expect.objectContaining({ reply: NbdRep.INFO, info: { type: 'block-size', sizes: { min: 1, preferred: 4096, max: 4096 } } }),
      expect.objectContaining({ option: NbdOpt.GO, reply: NbdRep.ACK }),
    ]);
    for (let at = 0; at <= bytes.length; at++) {
      const d = new ClientHandshakeDecoder();
      expect(split((b) => d.push(b), bytes, at)).toEqual(whole);
      expect(d.rest()).toEqual(encodeSimpleReply(9n, 0));
    }
  });

  it('decodes LIST replies and an EXPORT_NAME reply with or without zeroes', () => {
    const list = new ClientHandshakeDecoder().push(wire(encodeGreeting(), encodeRepServer(NbdOpt.LIST, 'disk')));
    expect(list[1]).toMatchObject({ reply: NbdRep.SERVER, name: 'disk' });
    for (const noZeroes of [true, false]) {
      const d = new ClientHandshakeDecoder();
      d.expectExportNameReply(noZeroes);
      expect(d.push(wire(encodeGreeting(), encodeExportNameReply(512, 3, noZeroes)))[1]).toEqual({ type: 'export', size: 512, flags: 3 });
    }
  });

  it('refuses a bad greeting, a bad reply magic, malformed info and oversize replies', () => {
    expect(new ClientHandshakeDecoder().push(Buffer.alloc(18))[0]).toMatchObject({ type: 'fatal', code: 'bad-magic' });
    const g = encodeGreeting();
    expect(new ClientHandshakeDecoder().push(wire(g, Buffer.alloc(20)))[1]).toMatchObject({ code: 'bad-magic' });
    expect(new ClientHandshakeDecoder().push(wire(g, encodeOptionReply(7, NbdRep.INFO, u16(0))))[1]).toMatchObject({ code: 'bad-reply' });
    expect(
      new ClientHandshakeDecoder({ maxReplyBytes: 4 }).push(wire(g, encodeOptionError(7, NbdRep.ERR_UNKNOWN, 'long message')))[1],
    ).toMatchObject({ code: 'too-long' });
  });
});

describe('transmission requests', () => {
  it('decodes READ, WRITE with its payload, FLUSH and DISC at every split', () => {
    const payload = Buffer.from('0123456789');
    const bytes = wire(
      request(NbdCmd.READ, 1n, 4096, 512),
      request(NbdCmd.WRITE, 2n, 10, 10, CmdFlag.FUA, payload),
      request(NbdCmd.FLUSH, 3n, 0, 0),
      request(NbdCmd.DISC, 0xffffffffffffffffn, 0, 0),
    );
    const whole = requestDecoder().push(bytes);
    expect(whole).toEqual([
      { type: 'request', command: NbdCmd.READ, flags: 0, handle: 1n, offset: 4096, length: 512 },
      { type: 'request', command: NbdCmd.WRITE, flags: CmdFlag.FUA, handle: 2n, offset: 10, length: 10, payload },
      { type: 'request', command: NbdCmd.FLUSH, flags: 0, handle: 3n, offset: 0, length: 0 },
      { type: 'request', command: NbdCmd.DISC, flags: 0, handle: 0xffffffffffffffffn, offset: 0, length: 0 },
    ]);
    for (let at = 0; at <= bytes.length; at++) {
      const d = requestDecoder();
      expect(split((b) => d.push(b), bytes, at)).toEqual(whole);
    }
    const byByte = requestDecoder();
    expect([...bytes].flatMap((b) => byByte.push(Buffer.from([b])))).toEqual(whole);
  });

  it('answers bad requests with the errno the spec names, and goes on', () => {
    const events = requestDecoder().push(
      wire(
        request(99, 1n, 0, 0), // unknown command → EINVAL
        request(NbdCmd.READ, 2n, 0, 8, 1 << 6), // undocumented flag → EINVAL
        request(NbdCmd.READ, 3n, (1 << 20) - 4, 8), // read past the end → EINVAL
        request(NbdCmd.WRITE, 4n, 1 << 20, 2, 0, Buffer.from('zz')), // write past the end → ENOSPC
        request(NbdCmd.WRITE_ZEROES, 5n, 1n << 60n, 1), // offset past 2^53 → ENOSPC
        request(NbdCmd.READ, 6n, 0, 8192), // read longer than the maximum payload → EINVAL
        request(NbdCmd.READ, 7n, 0, 1),
      ),
    );
    expect(events.map((e) => (e.type === 'request-error' ? [e.code, e.handle, e.errno] : e.type))).toEqual([
      ['unknown-command', 1n, NbdErrno.EINVAL],
      ['bad-flags', 2n, NbdErrno.EINVAL],
      ['out-of-range', 3n, NbdErrno.EINVAL],
      ['out-of-range', 4n, NbdErrno.ENOSPC],
      ['out-of-range', 5n, NbdErrno.ENOSPC],
      ['too-long', 6n, NbdErrno.EINVAL],
      'request',
    ]);
  });

  it('closes on a bad magic or a write longer than the maximum payload, and ignores what follows', () => {
    const d = requestDecoder();
    expect(d.push(wire(request(NbdCmd.WRITE, 1n, 0, 4097), request(NbdCmd.READ, 2n, 0, 1)))).toEqual([
      expect.objectContaining({ type: 'fatal', code: 'too-long' }),
    ]);
    expect(d.push(request(NbdCmd.READ, 3n, 0, 1))).toEqual([]);
    expect(requestDecoder().push(wire(u32(0x25609514), Buffer.alloc(24)))).toEqual([expect.objectContaining({ code: 'bad-magic' })]);
  });

  it('reports a stream cut mid-request (header or payload)', () => {
    const write = request(NbdCmd.WRITE, 1n, 0, 100, 0, Buffer.alloc(100, 1));
    for (const cut of [1, 27, 28, 127]) {
      const d = requestDecoder();
      expect(d.push(write.subarray(0, cut))).toEqual([]);
      expect(d.end()).toMatchObject({ type: 'fatal', code: 'truncated' });
    }
    const d = requestDecoder();
    d.push(write);
    expect(d.end()).toBeNull();
  });
});

describe('transmission replies', () => {
  const inFlight = new Map<bigint, number>([
    [1n, 4],
    [2n, 0],
  ]);
  const lookup = (h: bigint) => inFlight.get(h);

  it('decodes simple replies, READ data by the length asked, at every split', () => {
    expect(encodeSimpleReply(1n, 0)).toEqual(wire(SIMPLE_MAGIC, u32(0), u64(1)));
    const bytes = wire(encodeSimpleReply(2n, NbdErrno.EPERM), encodeSimpleReply(1n, 0), 'data', encodeSimpleReply(1n, NbdErrno.EIO));
    const whole = new ReplyDecoder(lookup).push(bytes);
    expect(whole).toEqual([
      { type: 'reply', handle: 2n, errno: NbdErrno.EPERM },
      { type: 'reply', handle: 1n, errno: 0, data: Buffer.from('data') },
      { type: 'reply', handle: 1n, errno: NbdErrno.EIO },
    ]);
    for (let at = 0; at <= bytes.length; at++) {
      const d = new ReplyDecoder(lookup);
      expect(split((b) => d.push(b), bytes, at)).toEqual(whole);
    }
  });

  it('closes on a reply to a handle not in flight, a structured reply, or a cut', () => {
    expect(new ReplyDecoder(lookup).push(encodeSimpleReply(3n, 0))[0]).toMatchObject({ code: 'unknown-handle' });
    expect(new ReplyDecoder(lookup).push(wire(u32(0x668e33ef), Buffer.alloc(16)))[0]).toMatchObject({ code: 'bad-reply' });
    const d = new ReplyDecoder(lookup);
    d.push(wire(encodeSimpleReply(1n, 0), 'da'));
    expect(d.end()).toMatchObject({ code: 'truncated' });
  });
});

describe('round trips and fuzz', () => {
  const handle = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const validRequest = fc.record({
    command: fc.constantFrom(NbdCmd.READ, NbdCmd.WRITE, NbdCmd.FLUSH, NbdCmd.TRIM, NbdCmd.WRITE_ZEROES),
    flags: fc.constantFrom(0, CmdFlag.FUA),
    handle,
    offset: fc.integer({ min: 0, max: 1 << 19 }),
    length: fc.integer({ min: 0, max: 4096 }),
  });

  it('requests the client encodes decode to the same requests on the server, however TCP cuts them', () => {
    fc.assert(
      fc.property(fc.array(validRequest, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (reqs, cuts) => {
        const bytes = wire(...reqs.map((r) => encodeRequest(r, r.command === NbdCmd.WRITE ? Buffer.alloc(r.length, 7) : undefined)));
        const d = requestDecoder();
        const events = chunks(bytes, cuts).flatMap((c) => d.push(c));
        expect(events).toEqual(
          reqs.map((r) => ({
            type: 'request',
            ...r,
            ...(r.command === NbdCmd.WRITE && r.length ? { payload: Buffer.alloc(r.length, 7) } : {}),
          })),
        );
        expect(d.end()).toBeNull();
      }),
    );
  });

  it('replies the server encodes decode on the client', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(handle, fc.integer({ min: 0, max: 64 }), fc.constantFrom(0, NbdErrno.EIO)), { maxLength: 8 }),
        (replies) => {
          const lengths = new Map(replies.map(([h, n]) => [h, n]));
          const bytes = wire(
            ...replies.map(([h, , errno]) => wire(encodeSimpleReply(h, errno), errno ? '' : Buffer.alloc(lengths.get(h)!, 1))),
          );
          const events = new ReplyDecoder((h) => lengths.get(h)).push(bytes);
          expect(events.map((e) => (e.type === 'reply' ? [e.handle, e.errno, e.data?.length ?? 0] : e))).toEqual(
            replies.map(([h, , errno]) => [h, errno, errno ? 0 : lengths.get(h)!]),
          );
        },
      ),
    );
  });

  it('random bytes, bad magics and unknown options never throw out of the server handshake decoder', () => {
    const valid = wire(u32(3), option(NbdOpt.INFO, goData('g', [3])), option(NbdOpt.LIST), option(77, Buffer.from('x')));
    fc.assert(
      fc.property(mutated(valid), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const d = new ServerHandshakeDecoder({ maxOptionBytes: 64 });
        const events = chunks(bytes, cuts).flatMap((c) => [...d.push(c), ...d.resume()]);
        for (const e of events) expect(['client-flags', 'option', 'option-error', 'fatal']).toContain(e.type);
        for (const e of events)
          if (e.type === 'option' && (e.option === NbdOpt.GO || e.option === NbdOpt.INFO)) parseGoData(e.option, e.data);
        d.end();
      }),
    );
  });

  it('random and mutated request streams never throw, and every bad request is an error value', () => {
    const valid = wire(
      request(NbdCmd.WRITE, 1n, 0, 16, 0, Buffer.alloc(16, 5)),
      request(NbdCmd.READ, 2n, 512, 512),
      request(NbdCmd.TRIM, 3n, 0, 4096),
    );
    fc.assert(
      fc.property(mutated(valid), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const d = requestDecoder();
        const events = chunks(bytes, cuts).flatMap((c) => d.push(c));
        for (const e of events) {
          if (e.type !== 'request') continue;
          expect(e.offset + e.length).toBeLessThanOrEqual(1 << 20);
          expect(e.payload?.length ?? 0).toBe(e.command === NbdCmd.WRITE ? e.length : 0);
        }
        d.end();
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw out of the client decoders', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withGreeting) => {
        const buf = withGreeting ? wire(encodeGreeting(), Buffer.from(bytes)) : Buffer.from(bytes);
        new ClientHandshakeDecoder().push(buf);
        new ReplyDecoder(() => 8).push(buf);
      }),
    );
  });

  it('every transmission flag value round-trips through NBD_INFO_EXPORT', () => {
    const flags = TransmissionFlag.HAS_FLAGS | TransmissionFlag.READ_ONLY | TransmissionFlag.CAN_MULTI_CONN;
    const [, info] = new ClientHandshakeDecoder().push(wire(encodeGreeting(), encodeInfoExport(NbdOpt.INFO, 2 ** 40, flags)));
    expect(info).toMatchObject({ info: { type: 'export', size: 2 ** 40, flags } });
  });
});

/** `bytes` cut at the given positions (taken modulo the length). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
  return [...at, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : at[i - 1], end));
}

/** A valid stream with random bytes overwritten, truncated, or replaced by random bytes entirely. */
function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }).map((edits) => {
    const copy = Buffer.from(valid);
    for (const [at, byte] of edits) copy[at % copy.length] = byte;
    return copy;
  });
  return fc.oneof(
    flips,
    fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  );
}
