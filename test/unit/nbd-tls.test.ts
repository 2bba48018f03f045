// Spec: a node's NBD export speaks STARTTLS (doc/proto.md "TLS support"). NODE_NBD_TLS=require is
// FORCEDTLS: before TLS every option but STARTTLS and ABORT is answered ERR_TLS_REQD and
// EXPORT_NAME closes; bytes sent after STARTTLS in plaintext are never read as if sent over TLS;
// STARTTLS twice is ERR_INVALID; a broken TLS handshake closes within the handshake deadline and
// frees its pre-auth slot. `blackstart attach`'s client (attach/negotiate.ts) checks the node's
// certificate against the cluster CA and the node's id, and never falls back to plaintext.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NegotiationError, negotiate } from '../../attach/negotiate.js';
import { loadNodeConfig } from '../../storage-node/config.js';
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
  type OptionReply,
} from '../../storage-node/protocol/nbd.js';
import { certificateProblems } from '../../storage-node/transport/nbd-tls.js';
import { NODE_ID, exchange, startNbdNode, type NbdNode } from '../support/nbd-node.js';
import { collect, sendStartTls, testCa, tlsSession, type TestCa } from '../support/nbd-tls.js';

const SIZE = 64 * 1024;
const HANDSHAKE_MS = 1500;

const optionReplies = (received: Buffer) =>
  new ClientHandshakeDecoder()
    .push(received)
    .filter((e): e is OptionReply => e.type === 'option-reply')
    .map((o) => [o.option, o.reply]);

/** Over an open TLS session: GO with `grant`, then a write and a read back of `payload` at 0. */
async function goWriteRead(node: NbdNode, grant: string, payload: Buffer): Promise<Buffer | null> {
  const s = await tlsSession(node.server.port, ca.caPem, NODE_ID);
  const { received } = await collect(
    s,
    [
      encodeGoOption(grant),
      encodeRequest({ command: NbdCmd.WRITE, flags: 0, handle: 1n, offset: 0, length: payload.length }, payload),
      encodeRequest({ command: NbdCmd.READ, flags: 0, handle: 2n, offset: 0, length: payload.length }),
    ],
    1000,
  );
  const hs = new ClientHandshakeDecoder();
  const events = hs.push(Buffer.concat([greeting(), received])); // the greeting came before TLS
  if (!events.some((e) => e.type === 'option-reply' && e.reply === NbdRep.ACK)) return null;
  const replies = new ReplyDecoder((h) => (h === 2n ? payload.length : 0)).push(hs.rest());
  const read = replies.find((r) => r.type === 'reply' && r.handle === 2n);
  return read?.type === 'reply' && read.errno === 0 ? read.data! : null;
}

let ca: TestCa;
let other: TestCa;

beforeAll(async () => {
  [ca, other] = await Promise.all([testCa(), testCa()]);
});
afterAll(async () => {
  await Promise.all([ca?.remove(), other?.remove()]);
});

describe('a node with NODE_NBD_TLS=require', () => {
  let node: NbdNode;
  beforeAll(async () => {
    node = await startNbdNode({
      tls: await ca.serverTls('require', NODE_ID),
      handshakeTimeoutMs: HANDSHAKE_MS,
      preAuth: { total: 8, perSource: 8 },
    });
    await node.create('v1', SIZE);
  });
  afterAll(() => node.stop());

  it('answers every option but STARTTLS and ABORT with ERR_TLS_REQD before TLS', async () => {
    const { received } = await exchange(node.server.port, [
      encodeClientFlags(),
      encodeGoOption(node.grant('v1', 'io')),
      encodeGoOption(node.grant('v1', 'io'), [], NbdOpt.INFO),
      encodeOption(NbdOpt.LIST),
      encodeOption(0x99),
      encodeOption(NbdOpt.ABORT),
    ]);
    expect(optionReplies(received)).toEqual([
      [NbdOpt.GO, NbdRep.ERR_TLS_REQD],
      [NbdOpt.INFO, NbdRep.ERR_TLS_REQD],
      [NbdOpt.LIST, NbdRep.ERR_TLS_REQD],
      [0x99, NbdRep.ERR_TLS_REQD],
      [NbdOpt.ABORT, NbdRep.ACK],
    ]);
  });

  it('closes on EXPORT_NAME before TLS, sending nothing after the greeting', async () => {
    const r = await exchange(node.server.port, [encodeClientFlags(), encodeExportNameOption(node.grant('v1', 'io'))], { keepOpen: true });
    expect(r.closedByServer).toBe(true);
    expect(r.received.length).toBe(18);
  });

  it('serves a grant over TLS: GO, a write and its read back', async () => {
    const payload = Buffer.alloc(4096, 0x5c);
    expect(await goWriteRead(node, node.grant('v1', 'io'), payload)).toEqual(payload);
    expect((await node.data('v1')).subarray(0, 4096)).toEqual(payload);
  });

  it('refuses STARTTLS with data (ERR_INVALID), and STARTTLS again over TLS (ERR_INVALID)', async () => {
    expect((await sendStartTls(node.server.port, Buffer.from('x'))).reply?.reply).toBe(NbdRep.ERR_INVALID);
    const s = await tlsSession(node.server.port, ca.caPem, NODE_ID);
    const { received } = await collect(s, [encodeOption(NbdOpt.STARTTLS), encodeOption(NbdOpt.ABORT)]);
    const replies = optionReplies(Buffer.concat([greeting(), received]));
    expect(replies).toEqual([
      [NbdOpt.STARTTLS, NbdRep.ERR_INVALID],
      [NbdOpt.ABORT, NbdRep.ACK],
    ]);
  });

  it('never reads an option sent in plaintext right behind STARTTLS: the connection closes unanswered', async () => {
    const r = await exchange(
      node.server.port,
      [Buffer.concat([encodeClientFlags(), encodeOption(NbdOpt.STARTTLS), encodeGoOption(node.grant('v1', 'io'))])],
      {
        keepOpen: true,
      },
    );
    expect(r.closedByServer).toBe(true);
    expect(r.received.length).toBe(18); // the greeting only: no ACK, no answer to the injected GO
  });

  it('closes a connection that sends garbage instead of a ClientHello, or a cut one, and frees its pre-auth slot', async () => {
    const garbage = await sendStartTls(node.server.port);
    expect(garbage.reply?.reply).toBe(NbdRep.ACK);
    expect((await collect(garbage.socket, [Buffer.from('GET / HTTP/1.1\r\n\r\n'.repeat(20))])).closedByServer).toBe(true);

    const cut = await sendStartTls(node.server.port);
    const started = Date.now();
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]); // a ClientHello's first bytes
    const r = await collect(cut.socket, [hello], HANDSHAKE_MS * 3);
    expect(r.closedByServer).toBe(true);
    expect(Date.now() - started).toBeLessThan(HANDSHAKE_MS + 1000);
    await new Promise((done) => setTimeout(done, 100));
    expect(await node.metrics()).toMatch(/blackstart_node_nbd_preauth_connections\{[^}]*\} 0/);
  });

  it('counts sessions by TLS in /metrics', async () => {
    expect(await node.metrics()).toMatch(/blackstart_node_nbd_sessions_total\{tls="true"[^}]*\} [1-9]/);
    expect(await node.metrics()).not.toMatch(/blackstart_node_nbd_sessions_total\{tls="false"/);
  });

  it("attach's client: TLS with the cluster CA; refused without it, with another CA, or to a node whose certificate names another node", async () => {
    const place = { nodeId: NODE_ID, nodeBootId: 'b', host: '127.0.0.1', port: node.server.port, exportName: node.grant('v1', 'io') };
    const socket = await negotiate(place, { ca: ca.caPem });
    socket.destroy();
    await expect(negotiate(place)).rejects.toThrow(/requires TLS/);
    await expect(negotiate(place, { ca: other.caPem })).rejects.toThrow(/TLS: .*(self.signed|unable to (get|verify))/i);
    await expect(negotiate({ ...place, nodeId: 'nbd-node-2' }, { ca: ca.caPem })).rejects.toThrow(/TLS: .*nbd-node-2/);
  });
});

describe('a node with NODE_NBD_TLS=optional, and one with TLS off', () => {
  let optional: NbdNode;
  let off: NbdNode;
  beforeAll(async () => {
    [optional, off] = await Promise.all([startNbdNode({ tls: await ca.serverTls('optional', NODE_ID) }), startNbdNode()]);
    await Promise.all([optional.create('v1', SIZE), off.create('v1', SIZE)]);
  });
  afterAll(async () => {
    await Promise.all([optional?.stop(), off?.stop()]);
  });

  it('optional serves a grant both in plaintext and over TLS', async () => {
    const place = {
      nodeId: NODE_ID,
      nodeBootId: 'b',
      host: '127.0.0.1',
      port: optional.server.port,
      exportName: optional.grant('v1', 'io'),
    };
    (await negotiate(place)).destroy();
    (await negotiate(place, { ca: ca.caPem })).destroy();
    expect(await optional.metrics()).toMatch(/blackstart_node_nbd_sessions_total\{tls="false"[^}]*\} 1/);
    expect(await optional.metrics()).toMatch(/blackstart_node_nbd_sessions_total\{tls="true"[^}]*\} 1/);
  });

  it('off answers STARTTLS with ERR_POLICY, and attach given a CA refuses to go on in plaintext', async () => {
    expect((await sendStartTls(off.server.port)).reply?.reply).toBe(NbdRep.ERR_POLICY);
    const place = { nodeId: NODE_ID, nodeBootId: 'b', host: '127.0.0.1', port: off.server.port, exportName: off.grant('v1', 'io') };
    const refused = negotiate(place, { ca: ca.caPem });
    await expect(refused).rejects.toBeInstanceOf(NegotiationError);
    await expect(refused).rejects.toThrow(/does not offer TLS/);
    expect(await off.metrics()).not.toMatch(/blackstart_node_nbd_sessions_total\{/);
  });
});

describe('NBD TLS configuration', () => {
  const base = {
    NODE_ID: 'n1',
    NODE_DATA_DIR: '/d',
    NODE_DOMAIN: 'dc1/az1/r1/p1/h1',
    CONTROL_PLANE_URL: 'http://x',
    JOIN_TOKEN: 'j',
    SNAPSHOT_STORE: '/s',
  };

  it('takes off, optional or require (off by default), and a certificate and key with anything but off', () => {
    expect(loadNodeConfig(base).nbdTls).toBe('off');
    expect(() => loadNodeConfig({ ...base, NODE_NBD_TLS: 'on' })).toThrow(/NODE_NBD_TLS must be one of off, optional, require/);
    expect(() => loadNodeConfig({ ...base, NODE_NBD_TLS: 'require' })).toThrow(/needs NODE_NBD_TLS_CERT and NODE_NBD_TLS_KEY/);
    const ok = loadNodeConfig({ ...base, NODE_NBD_TLS: 'require', NODE_NBD_TLS_CERT: '/c.pem', NODE_NBD_TLS_KEY: '/c.key' });
    expect(ok.nbdTlsFiles).toEqual({ cert: '/c.pem', key: '/c.key', ca: undefined });
  });

  it('refuses at start-up a certificate of another CA, of another node, or out of its dates', async () => {
    const { readFile } = await import('node:fs/promises');
    await ca.serverTls('require', 'node-a');
    const cert = await readFile(`${ca.dir}/nodes/node-a.pem`);
    expect(certificateProblems(cert, ca.caPem, 'node-a')).toEqual([]);
    expect(certificateProblems(cert, other.caPem, 'node-a').join()).toMatch(/not signed by NODE_NBD_TLS_CA/);
    expect(certificateProblems(cert, ca.caPem, 'node-b').join()).toMatch(/does not name this node \(DNS:node-b\)/);
    expect(certificateProblems(cert, ca.caPem, 'node-a', new Date('2999-01-01')).join()).toMatch(/valid from .* to .* only/);
  });
});

/** The greeting, for decoding what a TLS session received after it. */
function greeting(): Buffer {
  const g = Buffer.alloc(18);
  g.writeBigUInt64BE(0x4e42444d41474943n, 0);
  g.writeBigUInt64BE(0x49484156454f5054n, 8);
  g.writeUInt16BE(3, 16);
  return g;
}
