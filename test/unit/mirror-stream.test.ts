// Mirror batches over the stream between two real nodes in-process (port 0, temporary data dirs):
// one connection per node pair carries every volume's batches, several in flight; a fenced
// primary's write fails with not-primary; a connection cut mid-batch is retried on a new one with
// nothing lost; a bad token or a bad frame is refused; peer TLS applies to the stream as to HTTP.
import type { Server } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureNodeCerts } from '../../cluster/node-certs.js';
import { HttpError } from '../../common/http.js';
import { boundPort, closeServer, listen, listenTls } from '../../common/listen.js';
import { mirrorToken, nodeToken, volumeMirrorToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { plainPeerSend, streamedReplication } from '../../storage-node/client.js';
import { NodeError, NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp, type NodeAppOptions } from '../../storage-node/transport/http-server.js';
import { MirrorStreamPool } from '../../storage-node/transport/mirror-stream-client.js';
import { MirrorStreamServer } from '../../storage-node/transport/mirror-stream-server.js';
import { loadPeerTls } from '../../storage-node/transport/peer-tls.js';

const SECRET = 'cluster-secret';
const SIZE = 1024 * 1024;
const EPOCH = 2;
const VOLUMES = ['vol-a', 'vol-b', 'vol-c'];

const tokenFor = (volumeId: string, epoch = EPOCH) => volumeMirrorToken(mirrorToken(SECRET, 'secondary'), volumeId, epoch);
const failure = (err: unknown) =>
  err instanceof HttpError || err instanceof NodeError ? `${err.status} ${err.code}` : ((err as NodeJS.ErrnoException).code ?? String(err));

const upgradeRequest = (headers: string) =>
  `GET /v1/replication/stream HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: blackstart-mirror/1\r\n${headers}\r\n`;

/** What the node answers an upgrade with these extra header lines, before it closes the connection. */
async function rawUpgrade(url: string, headers: string): Promise<string> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  const closed = new Promise((r) => socket.on('close', r).on('error', () => undefined));
  socket.write(upgradeRequest(headers));
  await closed;
  return Buffer.concat(received).toString();
}

describe('the mirror stream between two nodes', () => {
  let dir = '';
  const closers: (() => Promise<unknown> | void)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mirror-stream-'));
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  interface Secondary {
    service: NodeService;
    url: string;
    upgrades: () => number;
    streams: MirrorStreamServer;
  }

  async function startSecondary(options: NodeAppOptions = {}): Promise<Secondary> {
    const store = new NodeStore(join(dir, 'secondary'), false);
    await store.load();
    const service = new NodeService('secondary', store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    const credentials = { token: nodeToken(SECRET, 'secondary'), mirrorToken: mirrorToken(SECRET, 'secondary') };
    const server: Server = await listen(
      createNodeApp(service, () => credentials, options),
      0,
    );
    const streams = new MirrorStreamServer(service, () => credentials, options);
    streams.attach(server);
    let upgrades = 0;
    server.on('upgrade', () => upgrades++);
    closers.push(() => (streams.close(), closeServer(server)));
    for (const volumeId of VOLUMES) await service.createVolume({ volumeId, sizeBytes: SIZE, role: 'secondary', epoch: EPOCH, peer: null });
    return { service, url: `http://127.0.0.1:${boundPort(server)}`, upgrades: () => upgrades, streams };
  }

  async function startPrimary(secondaryUrl: string): Promise<NodeService> {
    const store = new NodeStore(join(dir, 'primary'), false);
    await store.load();
    const pool = new MirrorStreamPool();
    closers.push(() => pool.close());
    const service = new NodeService(
      'primary',
      store,
      1 << 30,
      openSnapshotStore(join(dir, 'store')),
      streamedReplication(plainPeerSend, pool),
    );
    for (const volumeId of VOLUMES) {
      const peer = { nodeId: 'secondary', url: secondaryUrl, token: tokenFor(volumeId) };
      await service.createVolume({ volumeId, sizeBytes: SIZE, role: 'primary', epoch: EPOCH, peer });
    }
    return service;
  }

  it('carries every volume batches on one connection, several in flight at once', async () => {
    const secondary = await startSecondary();
    let inFlight = 0;
    let most = 0;
    const apply = secondary.service.applyMirror.bind(secondary.service);
    secondary.service.applyMirror = async (...args) => {
      most = Math.max(most, ++inFlight);
      try {
        return await apply(...args);
      } finally {
        inFlight--;
      }
    };
    const primary = await startPrimary(secondary.url);
    const writes = VOLUMES.flatMap((v, n) =>
      Array.from({ length: 8 }, (_, i) => primary.write(v, i * 4096, Buffer.alloc(4096, n * 8 + i + 1))),
    );
    await Promise.all(writes);
    for (const [n, v] of VOLUMES.entries()) {
      expect((await secondary.service.status(v)).writeSeq).toBe(8);
      expect(await secondary.service.reviewRead(v, 0, 8 * 4096)).toEqual(
        Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.alloc(4096, n * 8 + i + 1))),
      );
    }
    expect(secondary.upgrades()).toBe(1);
    expect(most).toBeGreaterThan(1);
  });

  it('fails a fenced primary write with not-primary when the secondary answers stale-epoch', async () => {
    const secondary = await startSecondary();
    const primary = await startPrimary(secondary.url);
    await primary.write('vol-a', 0, Buffer.alloc(4096, 1));
    await secondary.service.configure('vol-a', { role: 'primary', epoch: EPOCH + 1, peer: null }); // failed over to it
    expect(failure(await primary.write('vol-a', 0, Buffer.alloc(4096, 2)).catch((e) => e))).toBe('409 not-primary');
    expect(await secondary.service.reviewRead('vol-a', 0, 4096)).toEqual(Buffer.alloc(4096, 1));
  });

  it('retries a batch whose connection was cut mid-frame on a new connection, and loses nothing', async () => {
    const secondary = await startSecondary();
    const target = Number(new URL(secondary.url).port);
    let connections = 0;
    const sockets: Socket[] = [];
    const proxy = createServer((client) => {
      const cutAfter = connections++ === 0 ? 20_000 : Infinity; // the first connection dies inside the first 64 KiB batch
      const upstream = connect(target, '127.0.0.1');
      sockets.push(client, upstream);
      let forwarded = 0;
      for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
      upstream.on('data', (c: Buffer) => client.write(c));
      client.on('data', (c: Buffer) => {
        forwarded += c.length;
        if (forwarded > cutAfter) return void (upstream.write(c.subarray(0, c.length - (forwarded - cutAfter))), client.destroy());
        upstream.write(c);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), proxy.close(r))));
    const primary = await startPrimary(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`);
    const data = Array.from({ length: 4 }, (_, i) => Buffer.alloc(64 * 1024, i + 1));
    await Promise.all(data.map((d, i) => primary.write('vol-a', i * d.length, d)));
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(secondary.upgrades()).toBeGreaterThanOrEqual(2);
    expect((await secondary.service.status('vol-a')).writeSeq).toBe(4);
    expect(await secondary.service.reviewRead('vol-a', 0, 4 * 64 * 1024)).toEqual(Buffer.concat(data));
  });

  it('refuses a batch under another volume token, and the connection goes on carrying good ones', async () => {
    const secondary = await startSecondary();
    const pool = new MirrorStreamPool();
    closers.push(() => pool.close());
    const batch = (seq: number) => ({ volumeId: 'vol-b', epoch: EPOCH, writes: [{ seq, offset: 0, payload: Buffer.alloc(4096, 9) }] });
    const peer = (token: string) => ({ nodeId: 'secondary', url: secondary.url, token });
    await pool.mirror(peer(tokenFor('vol-b')), batch(1));
    for (const token of [tokenFor('vol-a'), mirrorToken(SECRET, 'secondary'), 'nonsense']) {
      expect(failure(await pool.mirror(peer(token), batch(2)).catch((e) => e))).toBe('401 unauthenticated');
    }
    expect(failure(await pool.mirror(peer(tokenFor('vol-b', EPOCH + 1)), batch(2)).catch((e) => e))).toBe('403 wrong-epoch');
    expect((await secondary.service.status('vol-b')).writeSeq).toBe(1);
    await pool.mirror(peer(tokenFor('vol-b')), batch(2));
    expect((await secondary.service.status('vol-b')).writeSeq).toBe(2);
    expect(secondary.upgrades()).toBe(1);
  });

  it('refuses to open a stream for a caller without a valid mirror token, before any frame', async () => {
    const secondary = await startSecondary();
    const pool = new MirrorStreamPool();
    closers.push(() => pool.close());
    const batch = { volumeId: 'vol-b', epoch: EPOCH, writes: [{ seq: 1, offset: 0, payload: Buffer.alloc(4096, 9) }] };
    for (const token of [tokenFor('vol-a'), 'nonsense', '']) {
      const err = await pool.mirror({ nodeId: 'secondary', url: secondary.url, token }, batch).catch((e) => e);
      expect(failure(err)).toBe('401 unauthenticated');
    }
    expect((await secondary.service.status('vol-b')).writeSeq).toBe(0);
    const answer = await rawUpgrade(secondary.url, '');
    expect(answer).toMatch(/^HTTP\/1.1 401/);
  });

  it('closes a connection that sends bytes which are not a frame', async () => {
    const secondary = await startSecondary();
    const socket = connect(Number(new URL(secondary.url).port), '127.0.0.1');
    closers.push(() => void socket.destroy());
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    const closed = new Promise((r) => socket.on('close', r).on('error', () => undefined));
    socket.write(upgradeRequest(`authorization: Bearer ${tokenFor('vol-a')}\r\nx-blackstart-volume: vol-a\r\n`));
    socket.write(Buffer.from('ffffffff00', 'hex'));
    await closed;
    expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1.1 101/);
  });

  it('abandons a batch whose signal aborts while the peer does not answer', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((s) => void accepted.push(s.on('error', () => undefined))); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => (accepted.forEach((s) => s.destroy()), silent.close(r))));
    const pool = new MirrorStreamPool();
    closers.push(() => pool.close());
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('peer dropped')), 100);
    const started = Date.now();
    const batch = { volumeId: 'vol-a', epoch: EPOCH, writes: [{ seq: 1, offset: 0, payload: Buffer.alloc(4096) }] };
    expect(String(await pool.mirror({ nodeId: 'secondary', url, token: tokenFor('vol-a') }, batch, abort.signal).catch((e) => e))).toMatch(
      /peer dropped/,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('takes the stream only over mutual TLS on a node that requires it, and counts it as TLS', async () => {
    const certs = await ensureNodeCerts(join(dir, 'certs'), [{ nodeId: 'secondary' }, { nodeId: 'primary' }]);
    const files = (id: string) => ({
      cert: join(certs.dir, 'nodes', `${id}.pem`),
      key: join(certs.dir, 'nodes', `${id}.key`),
      ca: certs.ca,
    });
    const counted: boolean[] = [];
    const secondary = await startSecondary({ peerTls: 'require', countReplication: (tls) => counted.push(tls) });
    const secure = await listenTls(
      createNodeApp(secondary.service, () => ({ token: null, mirrorToken: null })),
      loadPeerTls('require', files('secondary'), 'secondary')!.server,
      0,
    );
    secondary.streams.attach(secure);
    closers.push(() => closeServer(secure));
    const primaryTls = loadPeerTls('require', files('primary'), 'primary')!;
    closers.push(() => primaryTls.agent.destroy());
    const tlsPool = new MirrorStreamPool(primaryTls);
    const plainPool = new MirrorStreamPool();
    closers.push(() => (tlsPool.close(), plainPool.close()));
    const batch = { volumeId: 'vol-a', epoch: EPOCH, writes: [{ seq: 1, offset: 0, payload: Buffer.alloc(4096, 3) }] };
    const peerUrl = `https://127.0.0.1:${boundPort(secure)}`;

    const plain = { nodeId: 'secondary', url: secondary.url, token: tokenFor('vol-a') };
    expect(failure(await plainPool.mirror(plain, batch).catch((e) => e))).toBe('403 peer-tls-required');
    const impostor = { nodeId: 'node-x', url: peerUrl, token: tokenFor('vol-a') };
    expect(failure(await tlsPool.mirror(impostor, batch).catch((e) => e))).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect((await secondary.service.status('vol-a')).writeSeq).toBe(0);

    await tlsPool.mirror({ nodeId: 'secondary', url: peerUrl, token: tokenFor('vol-a') }, batch);
    expect((await secondary.service.status('vol-a')).writeSeq).toBe(1);
    expect(counted).toEqual([true]);
  });
});
