// A storage node's HTTP app in-process (port 0, a temporary data dir): who may mirror into
// which volume (issue 9, finding 5) and review reads before the node holds its token (finding 1).
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../common/http.js';
import { boundPort, closeServer, listen } from '../../common/listen.js';
import { mirrorToken, nodeToken, signGrant, volumeMirrorToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { HttpStorageNode, httpReplication } from '../../storage-node/client.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp, type NodeCredentials } from '../../storage-node/transport/http-server.js';

const SECRET = 'cluster-secret';
const NODE = 'node-s';
const SIZE = 64 * 1024;

describe('a storage node over HTTP', () => {
  let dir = '';
  let server: Server | null = null;
  let service: NodeService;
  let url = '';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'node-app-'));
    const store = new NodeStore(join(dir, 'data'), false);
    await store.load();
    service = new NodeService(NODE, store, 1 << 30, openSnapshotStore(join(dir, 'store')));
  });
  afterEach(async () => {
    if (server) await closeServer(server);
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(credentials: NodeCredentials): Promise<HttpStorageNode> {
    server = await listen(
      createNodeApp(service, () => credentials),
      0,
    );
    url = `http://127.0.0.1:${boundPort(server)}`;
    return new HttpStorageNode(url, credentials.token ?? '');
  }

  const status = (err: unknown) => (err instanceof HttpError ? `${err.status} ${err.code}` : String(err));
  const peer = (token: string) => ({ nodeId: NODE, url, token });
  const write = (volumeId: string, epoch: number, seq = 1) => ({
    volumeId,
    epoch,
    writes: [{ seq, offset: 0, payload: Buffer.alloc(4096, 0xab) }],
  });

  describe('when a primary holds the mirror token for volume A at epoch 2', () => {
    let node: HttpStorageNode;
    let tokenA = '';
    beforeEach(async () => {
      node = await serve({ token: nodeToken(SECRET, NODE), mirrorToken: mirrorToken(SECRET, NODE) });
      for (const v of ['vol-a', 'vol-b']) await node.createVolume(v, { sizeBytes: SIZE, role: 'secondary', epoch: 2, peer: null });
      tokenA = volumeMirrorToken(mirrorToken(SECRET, NODE), 'vol-a', 2);
    });

    it('then it mirrors into A at epoch 2', async () => {
      await httpReplication.mirror(peer(tokenA), write('vol-a', 2));
      expect((await node.status('vol-a')).writeSeq).toBe(1);
    });

    it('then the mirror and rebuild endpoints of volume B refuse it (401) and B is unchanged', async () => {
      expect(status(await httpReplication.mirror(peer(tokenA), write('vol-b', 2)).catch((e) => e))).toBe('401 unauthenticated');
      const range = { volumeId: 'vol-b', epoch: 2, offset: 0, crcs: new Uint32Array(1), payload: Buffer.alloc(4096, 1) };
      expect(status(await httpReplication.rebuildRange(peer(tokenA), range).catch((e) => e))).toBe('401 unauthenticated');
      const finish = { volumeId: 'vol-b', epoch: 2, writeSeq: 7, baseSnapshotId: null, dirty: Buffer.alloc(2) };
      expect(status(await httpReplication.rebuildFinish(peer(tokenA), finish).catch((e) => e))).toBe('401 unauthenticated');
      expect(await node.status('vol-b')).toMatchObject({ writeSeq: 0, mode: 'normal', dirtyBlocks: 0 });
      expect((await service.reviewRead('vol-b', 0, 4096)).every((b) => b === 0)).toBe(true);
    });

    it('then a write naming another epoch is refused (403), and a token for another epoch opens nothing at this one', async () => {
      expect(status(await httpReplication.mirror(peer(tokenA), write('vol-a', 3)).catch((e) => e))).toBe('403 wrong-epoch');
      const tokenA3 = volumeMirrorToken(mirrorToken(SECRET, NODE), 'vol-a', 3);
      expect(status(await httpReplication.mirror(peer(tokenA3), write('vol-a', 2)).catch((e) => e))).toBe('403 wrong-epoch');
      expect(status(await httpReplication.mirror(peer(tokenA3), write('vol-a', 3)).catch((e) => e))).toBe('409 stale-epoch');
      expect((await node.status('vol-a')).writeSeq).toBe(0);
    });

    it('then neither the node mirror secret nor the node token works as a mirror token', async () => {
      for (const token of [mirrorToken(SECRET, NODE), nodeToken(SECRET, NODE), '2.' + 'x'.repeat(43)]) {
        expect(status(await httpReplication.mirror(peer(token), write('vol-a', 2)).catch((e) => e))).toBe('401 unauthenticated');
      }
    });

    it('then a body that is not a replication message is a 400, and input is checked by the contract', async () => {
      const res = await fetch(`${url}/v1/volumes/vol-a/mirror`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${tokenA}` },
        body: 'hello',
      });
      expect(res.status).toBe(400);
      expect(status(await node.read('vol-a', -1 as number, 10).catch((e) => e))).toBe('400 bad-parameter');
      expect(status(await node.configure('vol-a', { role: 'owner' as 'primary', epoch: 2, peer: null }).catch((e) => e))).toBe(
        '400 bad-request',
      );
    });
  });

  describe('when the node has not loaded its token', () => {
    it('then a review read gets 503 and no bytes, even with a grant signed with the empty key', async () => {
      await service.createVolume({ volumeId: 'vol-r', sizeBytes: SIZE, role: 'primary', epoch: 1, peer: null });
      await service.write('vol-r', 0, Buffer.alloc(4096, 0x5a));
      await serve({ token: null, mirrorToken: null });
      const forged = signGrant({ volumeId: 'vol-r', nodeId: NODE, access: 'review', expiresAt: Date.now() + 60_000 }, '');
      const res = await fetch(`${url}/v1/volumes/vol-r/review?offset=0&length=4096`, { headers: { authorization: `Grant ${forged}` } });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(503);
      expect(JSON.parse(body.toString())).toMatchObject({ error: { code: 'not-registered' } });
      expect(body.includes(0x5a)).toBe(false);
    });
  });
});
