// The S3 snapshot store under a real cluster: the API, the worker and every node reach versitygw
// (SNAPSHOT_STORE=s3://… and the AWS_* variables); a snapshot, a power loss of every copy and the
// merge-restore over the snapshot; and the garbage collector's property against S3 itself.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../cluster/s3-server.js';
import { CHUNK_BYTES } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { S3Objects, parseS3Url, s3ClientFromEnv } from '../../snapshot-store/s3.js';
import { gcProperty } from '../support/gc-property.js';
import { copiesOf, eventually, operationsOf, pattern, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const SIZE = 16 * CHUNK_BYTES;

describe('snapshots on an S3 store (versitygw)', () => {
  let dir = '';
  let s3: S3Server;
  let t: TestCluster;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blackstart-s3-'));
    s3 = await startS3Server({ dir, logDir: dir });
    t = await startTestCluster('snapshots-s3', { env: { SNAPSHOT_STORE: s3.storeUrl('cluster'), ...s3.env } });
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('restores snapshot + later writes byte for byte after every copy lost power, the snapshot read from S3', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    const before = pattern(`${volumeId}-a`, 5 * CHUNK_BYTES);
    await t.customer.write(volumeId, 0, before);
    const { snapshotId } = await t.customer.createSnapshot(volumeId);
    await eventually('the snapshot completed', async () => (await t.customer.snapshot(snapshotId)).state === 'completed');
    // The objects are in the bucket (versitygw keeps them as files), not in the cluster's directory store.
    expect(await readdir(join(s3.dataDir, s3.bucket, 'cluster', 'manifests', volumeId))).toEqual([`${snapshotId}.json`]);
    expect(existsSync(t.cluster.snapshotStoreDir)).toBe(false);

    const after = pattern(`${volumeId}-b`, 3 * BLOCK_SIZE + 100);
    await t.customer.write(volumeId, 2 * CHUNK_BYTES + 1000, after);
    const expected = Buffer.from(before);
    after.copy(expected, 2 * CHUNK_BYTES + 1000);
    const nodes = (await copiesOf(t, volumeId)).map((c) => c.nodeId);
    await Promise.all(nodes.map((n) => t.cluster.killNode(n)));
    await Promise.all(nodes.map((n) => t.cluster.startNode(n)));
    await eventually('the volume awaiting a decision', async () => (await t.customer.status(volumeId)).actions.length > 0);
    const restored = (await copiesOf(t, volumeId)).find((c) => c.state === 'restored')!;
    expect((await operationsOf(t, restored.nodeId)).filter((o) => o.op === 'restore').at(-1)).toBeDefined();
    await t.customer.enableIo(volumeId);
    expect((await t.customer.read(volumeId, 0, 5 * CHUNK_BYTES)).equals(expected)).toBe(true);

    await t.customer.deleteSnapshot(snapshotId);
    expect(await readdir(join(s3.dataDir, s3.bucket, 'cluster', 'manifests', volumeId)).catch(() => [])).toEqual([]); // versitygw drops empty directories
  });

  it('keeps every remaining manifest restorable whatever the interleaving of captures and deletions (S3)', async () => {
    let run = 0;
    const client = s3ClientFromEnv(s3.env);
    await gcProperty(async () => new S3Objects(client, parseS3Url(s3.storeUrl(`property-${run++}`))), 8);
    client.destroy();
  }, 300_000);
});
