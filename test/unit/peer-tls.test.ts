// A storage node with NODE_PEER_TLS=require, in-process (its HTTP app on a plain port and on its
// TLS peer port, certificates from a real CA made by scripts/node-certs.sh): mirror traffic is
// taken only over mutual TLS from a certificate of the cluster CA, and a primary mirrors only to
// a peer whose certificate names the node it meant to reach (issue 21).
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { request } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNodeCerts, type NodeCerts } from '../../cluster/node-certs.js';
import { HttpError } from '../../common/http.js';
import { boundPort, closeServer, listen, listenTls } from '../../common/listen.js';
import { mirrorToken, nodeToken, volumeMirrorToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { HttpStorageNode, httpReplication, replicationOver, tlsPeerSend } from '../../storage-node/client.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp } from '../../storage-node/transport/http-server.js';
import { loadPeerTls, type PeerTls } from '../../storage-node/transport/peer-tls.js';

const SECRET = 'cluster-secret';
const NODE = 'node-s';
const SIZE = 64 * 1024;

const files = (certs: NodeCerts, nodeId: string) => ({
  cert: join(certs.dir, 'nodes', `${nodeId}.pem`),
  key: join(certs.dir, 'nodes', `${nodeId}.key`),
  ca: certs.ca,
});

describe('a node that takes replication only over mutual TLS', () => {
  let dir = '';
  let plain: Server;
  let secure: HttpsServer;
  let node: HttpStorageNode;
  let plainUrl = '';
  let peerUrl = '';
  let certs: NodeCerts;
  let primaryTls: PeerTls;
  const counted: boolean[] = [];
  const token = () => volumeMirrorToken(mirrorToken(SECRET, NODE), 'vol-a', 2);
  const batch = (seq: number) => ({ volumeId: 'vol-a', epoch: 2, writes: [{ seq, offset: 0, payload: Buffer.alloc(4096, seq) }] });
  const failure = (err: unknown) =>
    err instanceof HttpError ? `${err.status} ${err.code}` : ((err as NodeJS.ErrnoException).code ?? String(err));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peer-tls-'));
    certs = await ensureNodeCerts(join(dir, 'certs'), [{ nodeId: NODE }, { nodeId: 'node-p' }]);
    const nodeTls = loadPeerTls('require', files(certs, NODE), NODE)!;
    primaryTls = loadPeerTls('require', files(certs, 'node-p'), 'node-p')!;
    const store = new NodeStore(join(dir, 'data'), false);
    await store.load();
    const service = new NodeService(NODE, store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    const credentials = { token: nodeToken(SECRET, NODE), mirrorToken: mirrorToken(SECRET, NODE) };
    const app = createNodeApp(service, () => credentials, { peerTls: 'require', countReplication: (tls) => counted.push(tls) });
    plain = await listen(app, 0);
    secure = await listenTls(app, nodeTls.server, 0);
    plainUrl = `http://127.0.0.1:${boundPort(plain)}`;
    peerUrl = `https://127.0.0.1:${boundPort(secure)}`;
    node = new HttpStorageNode(plainUrl, credentials.token);
    await node.createVolume('vol-a', { sizeBytes: SIZE, role: 'secondary', epoch: 2, peer: null });
  });
  afterAll(async () => {
    primaryTls.agent.destroy();
    await Promise.all([closeServer(plain), closeServer(secure)]);
    await rm(dir, { recursive: true, force: true });
  });

  it('mirrors from a primary that presents its cluster certificate, and counts it as TLS', async () => {
    await replicationOver(tlsPeerSend(primaryTls)).mirror({ nodeId: NODE, url: peerUrl, token: token() }, batch(1));
    expect((await node.status('vol-a')).writeSeq).toBe(1);
    expect(counted).toEqual([true]);
  });

  it('refuses a valid mirror token over plain HTTP (403 peer-tls-required), and the copy is unchanged', async () => {
    const err = await httpReplication.mirror({ nodeId: NODE, url: plainUrl, token: token() }, batch(2)).catch((e) => e);
    expect(failure(err)).toBe('403 peer-tls-required');
    expect((await node.status('vol-a')).writeSeq).toBe(1);
  });

  it('refuses a TLS client without a certificate, or with one from another CA, before any request', async () => {
    const other = await ensureNodeCerts(join(dir, 'other-ca'), [{ nodeId: 'node-p' }]);
    const attempts = [
      { ca: await readFile(certs.ca) },
      { ca: await readFile(certs.ca), cert: await readFile(files(other, 'node-p').cert), key: await readFile(files(other, 'node-p').key) },
    ];
    for (const creds of attempts) {
      const outcome = await new Promise<string>((resolve) => {
        const req = request(`${peerUrl}/v1/health`, { ...creds, servername: NODE, agent: false }, (res) =>
          resolve(`answered ${res.statusCode}`),
        );
        req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        req.end();
      });
      expect(outcome).not.toMatch(/^answered/);
    }
    expect((await node.status('vol-a')).writeSeq).toBe(1);
  });

  it('does not mirror to a peer whose certificate names another node', async () => {
    const err = await replicationOver(tlsPeerSend(primaryTls))
      .mirror({ nodeId: 'node-x', url: peerUrl, token: token() }, batch(2))
      .catch((e) => e);
    expect(failure(err)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect((await node.status('vol-a')).writeSeq).toBe(1);
  });

  it('refuses to start peer TLS without the CA to check peers against', () => {
    expect(() => loadPeerTls('require', { ...files(certs, NODE), ca: undefined }, NODE)).toThrow(/NODE_NBD_TLS_CA/);
    expect(() => loadPeerTls('require', files(certs, NODE), 'node-p')).toThrow(/does not name this node/);
  });
});
