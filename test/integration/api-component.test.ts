// The API in-process on port 0 against a real Postgres, with a storage node that holds every
// request (never answers) and a Temporal that refuses: held I/O is capped (429 + Retry-After,
// nothing admitted dropped) and costs the inventory one watch per volume; a recovery report is
// admitted only if its workflow could be signalled.
import type { Client } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { loadApiConfig } from '../../api/config.js';
import type { NodeClient } from '../../api/node-client.js';
import { createCustomer } from '../../api/repositories/customers.js';
import { inTransaction } from '../../api/repositories/db.js';
import { upsertNode } from '../../api/repositories/nodes.js';
import { insertVolume, inventoryFor, setVolumeState } from '../../api/repositories/volumes.js';
import { createDataPathState } from '../../api/use-cases/data-path.js';
import type { Deps } from '../../api/use-cases/deps.js';
import { joinToken, nodeToken } from '../../common/tokens.js';
import { openSnapshotStore, type SnapshotStore } from '../../snapshot-store/store.js';
import { ControlPlaneAgent } from '../../storage-node/agent.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';

const SECRET = 'a-cluster-secret-of-some-length';
const dbName = `blackstart_component_${process.pid}_${Date.now() % 100000}`;

describe('the API in-process', () => {
  let db: pg.Pool;
  let api: Server;
  let node: Server;
  let url = '';
  const held: { end: () => void }[] = [];
  let inventoryLoads = 0;

  beforeAll(async () => {
    let dbUrl: string;
    ({ db, url: dbUrl } = await migratedTestDatabase(dbName));
    const query = db.query.bind(db) as (...args: unknown[]) => unknown;
    db.query = ((...args: unknown[]) => {
      if (String(args[0]).includes('from replicas r join nodes')) inventoryLoads++;
      return query(...args);
    }) as typeof db.query;

    node = createServer((_req, res) =>
      held.push({ end: () => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(4096)) }),
    );
    await new Promise<void>((r) => node.listen(0, '127.0.0.1', r));
    const nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
    const domain = (p: string) => ({ dc: 'dc1', zone: 'az1', router: 'r1', power: p, host: p });
    await upsertNode(db, { id: 'node-a', url: nodeUrl, nbdAddress: '' }, domain('p1'), 1 << 30, 60_000);
    await upsertNode(db, { id: 'node-b', url: 'http://127.0.0.1:1', nbdAddress: '' }, domain('p2'), 1 << 30, 60_000);
    await createCustomer(db, 'cust-1', 'one', 'bsk_component-key');
    await inTransaction(db, (tx) =>
      insertVolume(
        tx,
        { id: 'vol-1', customerId: 'cust-1', sizeBytes: 1 << 20, autoEnableIo: false, sourceSnapshotId: null },
        'node-a',
        'node-b',
      ),
    );
    await setVolumeState(db, 'vol-1', 'available');

    const config = loadApiConfig({
      DATABASE_URL: dbUrl,
      CLUSTER_SECRET: SECRET,
      OPERATOR_TOKEN: 'an-operator-token-of-some-length',
      SNAPSHOT_STORE: '/nowhere',
      IO_MAX_INFLIGHT_PER_VOLUME: '20',
      RETRY_AFTER_SECONDS: '7',
    });
    const refusingTemporal = {
      workflow: { signalWithStart: () => Promise.reject(new Error('Temporal refused the signal')) },
    } as unknown as Client;
    const deps: Deps = {
      db,
      config,
      temporal: refusingTemporal,
      nodes: {} as NodeClient,
      snapshots: {} as SnapshotStore,
      dataPath: createDataPathState(db, config),
    };
    api = createApp(deps).listen(0, '127.0.0.1');
    await new Promise((r) => api.once('listening', r));
    url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    api?.closeAllConnections();
    node?.closeAllConnections();
    await Promise.all([api, node].map((s) => new Promise((r) => (s ? s.close(r) : r(undefined)))));
    await db?.end();
    await admin(`drop database if exists ${dbName} with (force)`);
  });

  const read = () => fetch(`${url}/v1/volumes/vol-1/data?offset=0&length=4096`, { headers: { authorization: 'Bearer bsk_component-key' } });

  it('holds up to the volume’s cap, refuses the rest with 429 at once, polls the inventory per volume, and serves every held request', async () => {
    const admitted = Array.from({ length: 20 }, () => read());
    await new Promise((r) => setTimeout(r, 500));
    expect(held.length).toBe(20);
    const refused = await read();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(await refused.json()).toMatchObject({ error: { code: 'too-many-requests' } });

    const loadsBefore = inventoryLoads;
    await new Promise((r) => setTimeout(r, 4500));
    // one shared watch polls every 2 s: 2 or 3 loads for 20 held requests, not 40+
    expect(inventoryLoads - loadsBefore).toBeLessThanOrEqual(3);

    for (const h of held.splice(0)) h.end();
    for (const res of await Promise.all(admitted)) expect(res.status).toBe(200);
    // the answered requests left the caps: a new one is admitted and held again
    const next = read();
    await new Promise((r) => setTimeout(r, 300));
    expect(held.length).toBe(1);
    held.splice(0)[0]!.end();
    expect((await next).status).toBe(200);
  }, 30_000);

  it('admits no recovery when its workflow cannot be signalled: nothing is committed, no slot is held', async () => {
    const scan = { nodeId: 'node-a', scannedAt: new Date().toISOString(), crashed: true, replicas: [] };
    const res = await fetch(`${url}/v1/nodes/node-a/recovery-reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${nodeToken(SECRET, 'node-a')}` },
      body: JSON.stringify(scan),
    });
    expect(res.status).toBe(500);
    expect((await db.query('select count(*)::int as n from recovery_events')).rows[0].n).toBe(0);
    expect((await db.query(`select state from nodes where id = 'node-a'`)).rows[0].state).toBe('in-service');
    expect((await db.query(`select state from replicas where node_id = 'node-a'`)).rows[0].state).toBe('in-service');
  });

  it('takes a node back from a crash at its word: registered while recovering, it vouches for no copy until a heartbeat in service', async () => {
    const healthyB = async () => (await inventoryFor(db, ['vol-1'])).get('vol-1')!.members.find((m) => m.nodeId === 'node-b')!.healthy;
    const token = nodeToken(SECRET, 'node-b');
    const post = (path: string, body: object, headers: Record<string, string>) =>
      fetch(`${url}/v1/nodes${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const registration = { nodeId: 'node-b', url: 'http://127.0.0.1:1', domainPath: 'dc1/az1/r1/p2/p2', capacityBytes: 1 << 30 };
    const join = { authorization: `Bearer ${joinToken(SECRET)}`, 'x-node-token': token };
    expect(await healthyB()).toBe(true);

    expect((await post('/register', { ...registration, recovering: true }, join)).status).toBe(200);
    expect(await healthyB()).toBe(false); // a peer's investigation must not take it for a healthy copy
    const beat = { usedBytes: 0, bootId: 'after-crash' };
    expect((await post('/node-b/heartbeat', { ...beat, recovering: true }, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await healthyB()).toBe(false);
    expect((await post('/node-b/heartbeat', { ...beat, recovering: false }, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await healthyB()).toBe(true);

    expect((await post('/register', registration, join)).status).toBe(200); // a clean restart (or an older build) still vouches
    expect(await healthyB()).toBe(true);
  });

  const registerWithJoinToken = (nodeId: string, nodeUrl: string, domainPath: string, headers: Record<string, string>) =>
    fetch(`${url}/v1/nodes/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${joinToken(SECRET)}`, ...headers },
      body: JSON.stringify({ nodeId, url: nodeUrl, domainPath, capacityBytes: 1 << 30 }),
    });

  it('lets a node whose first registration was answered too late register again with its registration key, and no one else', async () => {
    const register = (headers: Record<string, string>, nodeUrl = 'http://127.0.0.1:2') =>
      registerWithJoinToken('node-c', nodeUrl, 'dc1/az1/r1/p3/h3', headers);
    const urlOfC = async () => (await db.query(`select url from nodes where id = 'node-c'`)).rows[0].url as string;
    const key = { 'x-node-registration-key': 'the-key-node-c-made-before-its-first-registration' };

    expect((await register(key)).status).toBe(200); // its answer lost on the way back
    const retry = await register(key);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { nodeToken: string }).nodeToken).toBe(nodeToken(SECRET, 'node-c'));

    const strangers: Record<string, string>[] = [{ 'x-node-registration-key': 'another-key' }, {}];
    for (const stranger of strangers) {
      const res = await register(stranger, 'http://127.0.0.1:9');
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    expect(await urlOfC()).toBe('http://127.0.0.1:2');
    expect((await register({ 'x-node-token': nodeToken(SECRET, 'node-c') }, 'http://127.0.0.1:3')).status).toBe(200); // an older build
    expect(await urlOfC()).toBe('http://127.0.0.1:3');
  });

  it('records the registration key of a node registered before keys, when it next registers with its node token', async () => {
    const register = (headers: Record<string, string>) =>
      registerWithJoinToken('node-b', 'http://127.0.0.1:1', 'dc1/az1/r1/p2/p2', headers);
    const key = { 'x-node-registration-key': 'node-b-key-made-after-an-upgrade' };
    expect((await register(key)).status).toBe(403); // node-b was registered without one: only its token proves it
    expect((await register({ ...key, 'x-node-token': nodeToken(SECRET, 'node-b') })).status).toBe(200);
    expect((await register(key)).status).toBe(200);
  });

  it('registers a real node agent whose first registration was committed but never answered', async () => {
    let registrations = 0;
    const lossy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'));
      const answer = await fetch(`${url}${req.url}`, { method: req.method, headers: headers as Record<string, string>, body });
      if (req.url === '/v1/nodes/register' && ++registrations === 1) return req.socket.destroy(); // committed, the answer lost
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((r) => lossy.listen(0, '127.0.0.1', r));
    const dir = await mkdtemp(join(tmpdir(), 'agent-'));
    const agent = async () => {
      const store = new NodeStore(join(dir, 'data'), false);
      await store.load();
      const service = new NodeService('node-d', store, 1 << 30, openSnapshotStore(join(dir, 'snapshots')));
      const a = new ControlPlaneAgent(
        {
          nodeId: 'node-d',
          url: 'http://127.0.0.1:4',
          nbdAddress: '127.0.0.1:5',
          peerUrl: null,
          domainPath: 'dc1/az1/r1/p4/h4',
          controlPlaneUrl: `http://127.0.0.1:${(lossy.address() as AddressInfo).port}`,
          joinToken: joinToken(SECRET),
          heartbeatMs: 1000,
          reportRetryMs: 50,
          networkLossMs: 5000,
          peerGiveUpMs: 5000,
        },
        service,
      );
      await a.loadToken();
      return a;
    };
    try {
      const first = await agent();
      await first.register();
      expect(registrations).toBe(2);
      expect(first.token).toBe(nodeToken(SECRET, 'node-d'));
      const restarted = await agent(); // the key and the token were kept on disk
      await restarted.register();
      expect(restarted.token).toBe(nodeToken(SECRET, 'node-d'));
    } finally {
      lossy.closeAllConnections();
      await new Promise((r) => lossy.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
