// Snapshots, merge-restore and the customer's decisions on a restored volume, on a real cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { parseDomainPath } from '../../common/failure-domain.js';
import {
  copiesOf,
  corrupt,
  eventually,
  operationsOf,
  pattern,
  reviewEvent,
  startTestCluster,
  type TestCluster,
} from '../support/test-cluster.js';

const SIZE = 16 * CHUNK_BYTES;

describe('snapshots and decisions after a power loss', () => {
  let t: TestCluster;
  beforeAll(async () => (t = await startTestCluster('snapshots')));
  afterAll(() => t?.stop());

  /** Power loss of every node holding the volume, then all of them return. */
  async function outage(volumeId: string, whileDown: (nodes: string[]) => Promise<void> = async () => undefined): Promise<void> {
    const nodes = (await copiesOf(t, volumeId)).map((c) => c.nodeId);
    await Promise.all(nodes.map((n) => t.cluster.killNode(n)));
    await whileDown(nodes);
    await Promise.all(nodes.map((n) => t.cluster.startNode(n)));
    await eventually('the volume awaiting a decision', async () => (await t.customer.status(volumeId)).actions.length > 0);
  }

  const zoneOf = (nodeId: string) => parseDomainPath(t.cluster.opts.nodes.find((n) => n.nodeId === nodeId)!.domainPath).zone;
  const powerOf = (nodeId: string) => parseDomainPath(t.cluster.opts.nodes.find((n) => n.nodeId === nodeId)!.domainPath).power;

  it('restores snapshot + later writes byte for byte, then rebuilds a secondary in another power domain', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    const before = pattern(`${volumeId}-a`, 5 * CHUNK_BYTES);
    await t.customer.write(volumeId, 0, before);
    const { snapshotId } = await t.customer.createSnapshot(volumeId);
    const snapshot = await eventually('the snapshot completed', async () => {
      const s = await t.customer.snapshot(snapshotId);
      return s.state === 'completed' && s;
    });
    expect(snapshot).toMatchObject({ writeSeq: 1, parentId: null });
    const after = pattern(`${volumeId}-b`, 3 * BLOCK_SIZE + 100);
    await t.customer.write(volumeId, 2 * CHUNK_BYTES + 1000, after);
    const expected = Buffer.from(before);
    after.copy(expected, 2 * CHUNK_BYTES + 1000);

    await outage(volumeId);
    const restore = (await operationsOf(t, (await copiesOf(t, volumeId))[0]!.nodeId)).filter((o) => o.op === 'restore').at(-1);
    expect(restore).toBeDefined();
    const enabled = await t.customer.enableIo(volumeId);
    expect((await t.customer.read(volumeId, 0, 5 * CHUNK_BYTES)).equals(expected)).toBe(true);

    const copies = await eventually('a rebuilt secondary', async () => {
      const c = await copiesOf(t, volumeId);
      return c.length === 2 && c.every((r) => r.state === 'in-service') && c;
    });
    expect(copies.map((c) => c.epoch)).toEqual([enabled.epoch, enabled.epoch]);
    expect(powerOf(copies[0]!.nodeId)).not.toBe(powerOf(copies[1]!.nodeId));
    const more = pattern(`${volumeId}-c`, 8192);
    await t.customer.write(volumeId, 4096, more); // mirrored to the new secondary
    expect((await t.customer.read(volumeId, 4096, 8192)).equals(more)).toBe(true);
  });

  it('repairs a block corrupted while its node was down from the peer copy', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    const data = pattern(volumeId, 4 * CHUNK_BYTES);
    await t.customer.write(volumeId, 0, data);
    await outage(volumeId, async ([first, second]) => {
      await corrupt(t, first!, volumeId, 7 * BLOCK_SIZE + 11); // a different block on each copy:
      await corrupt(t, second!, volumeId, 90 * BLOCK_SIZE + 3); // whichever is elected, its peer has it intact
    });
    const restored = (await copiesOf(t, volumeId)).find((c) => c.state === 'restored')!;
    const restore = (await operationsOf(t, restored.nodeId)).filter((o) => o.op === 'restore').at(-1) as Record<string, unknown>;
    expect(restore).toMatchObject({ repairedFromPeer: 1, unrecoverable: 0 });
    await t.customer.enableIo(volumeId);
    expect((await t.customer.read(volumeId, 0, 4 * CHUNK_BYTES)).equals(data)).toBe(true);
  });

  it('transfers a restored volume to a node in another zone, where it serves', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    const data = pattern(volumeId, 2 * CHUNK_BYTES);
    await t.customer.write(volumeId, 0, data);
    await outage(volumeId);
    const restored = (await copiesOf(t, volumeId)).find((c) => c.state === 'restored')!;
    const moved = await t.customer.transfer(volumeId);
    expect(moved.action).toBe('transfer');
    expect(zoneOf(moved.nodeId!)).not.toBe(zoneOf(restored.nodeId));
    expect(reviewEvent(await t.customer.status(volumeId)).description).toBe(`IO Enabled (transferred to ${moved.nodeId})`);
    expect((await t.customer.read(volumeId, 0, 2 * CHUNK_BYTES)).equals(data)).toBe(true);
    const copies = await eventually('the old copy gone and a new secondary', async () => {
      const c = await copiesOf(t, volumeId);
      return c.length === 2 && c.every((r) => r.state === 'in-service') && c;
    });
    expect(copies.find((c) => c.role === 'primary')!.nodeId).toBe(moved.nodeId);
    expect((await operationsOf(t, restored.nodeId)).some((o) => o.op === 'delete' && o.volumeId === volumeId)).toBe(true);
  });

  it('keeps every chunk another snapshot needs when one is deleted, and refuses bad input', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    const data = pattern(volumeId, 3 * CHUNK_BYTES);
    await t.customer.write(volumeId, 0, data);
    const first = await t.customer.createSnapshot(volumeId);
    await eventually('first snapshot', async () => (await t.customer.snapshot(first.snapshotId)).state === 'completed');
    await t.customer.write(volumeId, CHUNK_BYTES, Buffer.alloc(BLOCK_SIZE, 7));
    const second = await t.customer.createSnapshot(volumeId);
    const done = await eventually('second snapshot', async () => {
      const s = await t.customer.snapshot(second.snapshotId);
      return s.state === 'completed' && s;
    });
    expect(done).toMatchObject({ parentId: first.snapshotId });
    expect(done).not.toHaveProperty('uploadedChunks'); // would tell whether another tenant stored a chunk
    const { rows } = await t.db.query('select uploaded_chunks from snapshots where id = $1', [second.snapshotId]);
    expect(rows[0].uploaded_chunks).toBe(1);
    await t.customer.deleteSnapshot(first.snapshotId);
    expect((await t.customer.snapshots(volumeId)).snapshots.map((s) => s.snapshotId)).toEqual([second.snapshotId]);

    const copy = await t.customer.createVolumeFromSnapshot(second.snapshotId);
    const expected = Buffer.from(data);
    Buffer.alloc(BLOCK_SIZE, 7).copy(expected, CHUNK_BYTES);
    expect((await t.customer.read(copy.volumeId, 0, 3 * CHUNK_BYTES)).equals(expected)).toBe(true);

    await expect(t.customer.createVolumeFromSnapshot(first.snapshotId)).rejects.toMatchObject({ status: 404 });
    await expect(t.customer.archive(volumeId)).rejects.toMatchObject({ status: 409 });
    await expect(t.customer.setSnapshotPolicy(volumeId, { retention: 0, intervalSeconds: 3600 })).rejects.toMatchObject({ status: 400 });
    const other = t.operator.withToken((await t.operator.createCustomer('snapshots-other')).apiKey);
    await expect(other.snapshot(second.snapshotId)).rejects.toMatchObject({ status: 404 });
    await expect(other.deleteSnapshot(second.snapshotId)).rejects.toMatchObject({ status: 404 });
  });
});
