// Spec: resuming a rejoined copy's I/O, against a real Postgres and a real storage node. A copy
// that left the volume while its node rejoined (a failover, then a rebuild that replaced it and
// deleted it) has nothing to resume, and the server recovery goes on; a copy the inventory still
// counts as a member but its node lost is an error, retried (chaos seed 61207 scenario 17: the
// first case retried for ever and left its node `recovering`).
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageNodeActivities } from '../../activities/storage-node.js';
import { NodeClient } from '../../api/node-client.js';
import { createCustomer } from '../../api/repositories/customers.js';
import { inTransaction } from '../../api/repositories/db.js';
import { upsertNode } from '../../api/repositories/nodes.js';
import { insertVolume, setReplicaState, setVolumeState } from '../../api/repositories/volumes.js';
import { boundPort, closeServer, listen } from '../../common/listen.js';
import { mirrorToken, nodeToken } from '../../common/tokens.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { createNodeApp } from '../../storage-node/transport/http-server.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';

const SECRET = 'cluster-secret';
const dbName = `blackstart_resume_${process.pid}_${Date.now() % 100000}`;

describe("resuming a rejoined copy's I/O", () => {
  let db: pg.Pool;
  let dir = '';
  let server: Server;
  let activities: ReturnType<typeof createStorageNodeActivities>;
  const run = <T>(fn: () => Promise<T>) => new MockActivityEnvironment().run(fn);

  beforeAll(async () => {
    ({ db } = await migratedTestDatabase(dbName));
    dir = await mkdtemp(join(tmpdir(), 'resume-io-'));
    const store = new NodeStore(join(dir, 'node-a'), false);
    await store.load();
    const service = new NodeService('node-a', store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    server = await listen(
      createNodeApp(service, () => ({ token: nodeToken(SECRET, 'node-a'), mirrorToken: mirrorToken(SECRET, 'node-a') })),
      0,
    );
    for (const id of ['node-a', 'node-b']) {
      const url = id === 'node-a' ? `http://127.0.0.1:${boundPort(server)}` : 'http://127.0.0.1:1';
      await upsertNode(db, { id, url, nbdAddress: '' }, { dc: 'dc1', zone: 'az1', router: 'r1', power: id, host: id }, 1 << 30, 600_000);
    }
    await createCustomer(db, 'cust-1', 'one', 'bsk_resume-key');
    for (const id of ['vol-left', 'vol-lost']) {
      await inTransaction(db, (tx) =>
        insertVolume(tx, { id, customerId: 'cust-1', sizeBytes: 1 << 20, autoEnableIo: false, sourceSnapshotId: null }, 'node-a', 'node-b'),
      );
      await setVolumeState(db, id, 'available');
    }
    activities = createStorageNodeActivities(db, new NodeClient(db, SECRET), 1 << 20);
  });

  afterAll(async () => {
    await closeServer(server).catch(() => undefined);
    await db.end();
    await admin(`drop database if exists ${dbName} with (force)`);
    await rm(dir, { recursive: true, force: true });
  });

  it('when the copy was replaced and deleted meanwhile, there is nothing to resume and it succeeds', async () => {
    await setReplicaState(db, 'vol-left', 'node-a', 'deleted');
    await expect(run(() => activities.resumeCopyIo({ nodeId: 'node-a', volumeId: 'vol-left' }))).resolves.toBeUndefined();
  });

  it('when the inventory still counts the copy but its node does not have it, it fails (and Temporal retries)', async () => {
    await expect(run(() => activities.resumeCopyIo({ nodeId: 'node-a', volumeId: 'vol-lost' }))).rejects.toThrow(
      'volume vol-lost is not on node node-a',
    );
  });
});
