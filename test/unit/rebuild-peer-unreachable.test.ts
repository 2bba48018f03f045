// A rebuild's source node over HTTP (port 0, a temporary data dir) when its target dies: the
// source answers 503 `peer-unreachable` in its one error shape — an expected condition the
// rebuild activity retries, then abandons — not a 500 logged as an unexpected error (issue 18).
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../common/http.js';
import { boundPort, closeServer, listen } from '../../common/listen.js';
import { mirrorToken, nodeToken, volumeMirrorToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { HttpStorageNode } from '../../storage-node/client.js';
import { NodeService } from '../../storage-node/node-service.js';
import { peerUnreachable } from '../../storage-node/service/rebuild.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp } from '../../storage-node/transport/http-server.js';

const SECRET = 'cluster-secret';
const SIZE = 64 * 1024;
const VOLUME = 'vol-r';
const EPOCH = 3;

describe('a rebuild whose target dies', () => {
  let dir = '';
  const servers: Server[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rebuild-peer-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => closeServer(s).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  });

  /** A real storage node on port 0, with its client. */
  async function startNode(nodeId: string): Promise<{ client: HttpStorageNode; url: string; server: Server }> {
    const store = new NodeStore(join(dir, nodeId, 'data'), false);
    await store.load();
    const service = new NodeService(nodeId, store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    const credentials = { token: nodeToken(SECRET, nodeId), mirrorToken: mirrorToken(SECRET, nodeId) };
    const server = await listen(
      createNodeApp(service, () => credentials),
      0,
    );
    servers.push(server);
    const url = `http://127.0.0.1:${boundPort(server)}`;
    return { client: new HttpStorageNode(url, credentials.token), url, server };
  }

  /** The source primary with data, rebuilding the copy at `targetUrl` (as rebuildCopy configures it). */
  async function sourceRebuilding(targetUrl: string): Promise<HttpStorageNode> {
    const { client } = await startNode('source');
    await client.createVolume(VOLUME, { sizeBytes: SIZE, role: 'primary', epoch: EPOCH, peer: null });
    await client.write(VOLUME, 0, Buffer.alloc(8192, 0x5c));
    const token = volumeMirrorToken(mirrorToken(SECRET, 'target'), VOLUME, EPOCH);
    await client.configure(VOLUME, { role: 'primary', epoch: EPOCH, peer: { nodeId: 'target', url: targetUrl, token } });
    return client;
  }

  const answer = (err: unknown) => (err instanceof HttpError ? `${err.status} ${err.code}` : String(err));
  const rebuilds = { nodeId: 'target', epoch: EPOCH };

  it('copies ranges and finishes while the target answers', async () => {
    const target = await startNode('target');
    await target.client.createVolume(VOLUME, { sizeBytes: SIZE, role: 'secondary', epoch: EPOCH, peer: null, rebuilding: true });
    const source = await sourceRebuilding(target.url);
    expect(await source.copyRange(VOLUME, rebuilds, 0, SIZE)).toEqual({ copiedBytes: SIZE });
    await source.finishRebuild(VOLUME, rebuilds);
    expect((await target.client.digest(VOLUME)).digest).toBe((await source.digest(VOLUME)).digest);
  });

  it('answers 503 peer-unreachable when the target process is gone (connection refused)', async () => {
    const target = await startNode('target');
    await target.client.createVolume(VOLUME, { sizeBytes: SIZE, role: 'secondary', epoch: EPOCH, peer: null, rebuilding: true });
    const source = await sourceRebuilding(target.url);
    await closeServer(target.server);
    expect(answer(await source.copyRange(VOLUME, rebuilds, 0, SIZE).catch((e) => e))).toBe('503 peer-unreachable');
    expect(answer(await source.finishRebuild(VOLUME, rebuilds).catch((e) => e))).toBe('503 peer-unreachable');
  });

  it('answers 503 peer-unreachable when the target drops the connection mid-request (reset)', async () => {
    // a peer whose host dies as the range arrives: the connection is reset (TCP RST)
    const dying = createServer((socket) => socket.on('data', () => socket.resetAndDestroy()));
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve));
    const port = (dying.address() as { port: number }).port;
    const source = await sourceRebuilding(`http://127.0.0.1:${port}`);
    expect(answer(await source.copyRange(VOLUME, rebuilds, 0, SIZE).catch((e) => e))).toBe('503 peer-unreachable');
    await new Promise((resolve) => dying.close(resolve));
  });

  it('keeps the answer of a target that refuses for its own reasons (its copy is at another epoch)', async () => {
    const target = await startNode('target');
    await target.client.createVolume(VOLUME, { sizeBytes: SIZE, role: 'secondary', epoch: EPOCH + 1, peer: null, rebuilding: true });
    const source = await sourceRebuilding(target.url);
    expect(answer(await source.copyRange(VOLUME, rebuilds, 0, SIZE).catch((e) => e))).toMatch(/^409 /);
  });
});

describe('which failures of a peer call mean the peer is unreachable', () => {
  const fetchFailed = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

  it('are socket failures, timeouts, and a peer answering that it does not serve', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EHOSTUNREACH', 'UND_ERR_SOCKET'])
      expect(peerUnreachable(fetchFailed(code))).toBe(true);
    expect(peerUnreachable(new DOMException('timed out', 'TimeoutError'))).toBe(true);
    expect(peerUnreachable(new HttpError(503, 'not-registered', 'node has not registered yet'))).toBe(true);
  });

  it('are not refusals, answers of other errors, or surprises', () => {
    expect(peerUnreachable(new HttpError(409, 'not-rebuilding', 'no'))).toBe(false);
    expect(peerUnreachable(new HttpError(500, 'internal', 'boom'))).toBe(false);
    expect(peerUnreachable(new Error('disk on fire'))).toBe(false);
    expect(peerUnreachable(fetchFailed('EACCES'))).toBe(false);
  });
});
