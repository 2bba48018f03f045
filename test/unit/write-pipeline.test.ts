// A primary's group commit between two real nodes over HTTP (port 0, temporary data dirs,
// fdatasync on): concurrent writes share syncs and mirror batches, the secondary ends with
// every write in order, and no write is answered while the secondary has not confirmed it.
import type { Server } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { boundPort, closeServer, listen } from '../../common/listen.js';
import { mirrorToken, nodeToken, volumeMirrorToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp } from '../../storage-node/transport/http-server.js';

const SECRET = 'cluster-secret';
const SIZE = 1024 * 1024;
const VOLUME = 'vol-w';
const EPOCH = 2;

describe('a primary committing writes in groups', () => {
  let dir = '';
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'write-pipeline-'));
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  });

  async function startNode(nodeId: string): Promise<{ service: NodeService; url: string }> {
    const store = new NodeStore(join(dir, nodeId), true);
    await store.load();
    const service = new NodeService(nodeId, store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    const credentials = { token: nodeToken(SECRET, nodeId), mirrorToken: mirrorToken(SECRET, nodeId) };
    const server: Server = await listen(
      createNodeApp(service, () => credentials),
      0,
    );
    closers.push(() => closeServer(server));
    return { service, url: `http://127.0.0.1:${boundPort(server)}` };
  }

  const peerAt = (url: string) => ({ nodeId: 'secondary', url, token: volumeMirrorToken(mirrorToken(SECRET, 'secondary'), VOLUME, EPOCH) });

  async function pair(secondaryUrl?: string): Promise<{ primary: NodeService; secondary: NodeService }> {
    const secondary = await startNode('secondary');
    const primary = await startNode('primary');
    await secondary.service.createVolume({ volumeId: VOLUME, sizeBytes: SIZE, role: 'secondary', epoch: EPOCH, peer: null });
    await primary.service.createVolume({
      volumeId: VOLUME,
      sizeBytes: SIZE,
      role: 'primary',
      epoch: EPOCH,
      peer: peerAt(secondaryUrl ?? secondary.url),
    });
    return { primary: primary.service, secondary: secondary.service };
  }

  it('answers 64 concurrent writes with fewer syncs than writes, and the secondary holds every write in order', async () => {
    const { primary, secondary } = await pair();
    const writes = Array.from({ length: 64 }, (_, i) => primary.write(VOLUME, (i % 16) * 4096, Buffer.alloc(4096, i + 1)));
    expect((await Promise.all(writes)).sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(primary.commitCounts.writes).toBe(64);
    expect(primary.commitCounts.syncs).toBeLessThan(64);
    expect((await secondary.status(VOLUME)).writeSeq).toBe(64);
    // Writes 49..64 were the last to each of the 16 blocks: both copies end with them.
    const expected = Buffer.concat(Array.from({ length: 16 }, (_, b) => Buffer.alloc(4096, 49 + b)));
    expect(await primary.read(VOLUME, 0, 16 * 4096)).toEqual(expected);
    expect(await secondary.reviewRead(VOLUME, 0, 16 * 4096)).toEqual(expected);
  });

  it('answers no write while the secondary has not confirmed it, and answers it alone once the peer is dropped', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket: Socket) => void sockets.push(socket.on('error', () => undefined))); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), silent.close(() => r()))));
    const port = (silent.address() as { port: number }).port;
    const { primary } = await pair(`http://127.0.0.1:${port}`);
    let answered = false;
    const write = primary.write(VOLUME, 0, Buffer.alloc(4096, 7)).then((seq) => ((answered = true), seq));
    await new Promise((r) => setTimeout(r, 400));
    expect(answered).toBe(false);
    await primary.configure(VOLUME, { role: 'primary', epoch: EPOCH + 1, peer: null });
    expect(await write).toBe(1);
    expect(await primary.read(VOLUME, 0, 4096)).toEqual(Buffer.alloc(4096, 7));
  });
});
