// The review deadline archives an undecided volume; an archive restores into a new volume; a
// customer deletes volumes; snapshot policies run as Temporal Schedules with retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../common/chunks.js';
import { copiesOf, eventually, operationsOf, pattern, reviewEvent, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const SIZE = 8 * CHUNK_BYTES;

describe('archives, deletion and snapshot policies', () => {
  let t: TestCluster;
  beforeAll(
    async () => (t = await startTestCluster('archive', { env: { REVIEW_DEADLINE_MS: '4000', MIN_SNAPSHOT_INTERVAL_SECONDS: '1' } })),
  );
  afterAll(() => t?.stop());

  async function powerLossOf(volumeId: string): Promise<string[]> {
    const nodes = (await copiesOf(t, volumeId)).map((c) => c.nodeId);
    await Promise.all(nodes.map((n) => t.cluster.killNode(n)));
    await Promise.all(nodes.map((n) => t.cluster.startNode(n)));
    return nodes;
  }

  it('archives a volume nobody decided on by the review deadline; the archive restores the same bytes', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    const data = pattern(volumeId, 3 * CHUNK_BYTES + 512);
    await t.customer.write(volumeId, 1024, data);
    const nodes = await powerLossOf(volumeId);

    const archived = await eventually(
      'the volume archived',
      async () => {
        const v = await t.customer.volume(volumeId);
        return v.state === 'archived' && v;
      },
      90_000,
    );
    expect(reviewEvent(await t.customer.status(volumeId)).description).toBe(
      `Archived to snapshot ${archived.archiveSnapshotId} (review deadline passed)`,
    );
    const archive = await t.customer.snapshot(archived.archiveSnapshotId!);
    expect(archive).toMatchObject({ kind: 'archive', state: 'completed', writeSeq: 1 });
    await eventually('every copy deleted', async () => (await copiesOf(t, volumeId)).length === 0);
    for (const n of nodes) expect((await operationsOf(t, n)).some((o) => o.op === 'delete' && o.volumeId === volumeId)).toBe(true);
    await expect(t.customer.read(volumeId, 0, 4096)).rejects.toMatchObject({ status: 409 });

    const restored = await t.customer.createVolumeFromSnapshot(archive.snapshotId);
    expect(restored).toMatchObject({ sizeBytes: SIZE, snapshotId: archive.snapshotId, state: 'available' });
    expect((await t.customer.read(restored.volumeId, 1024, data.length)).equals(data)).toBe(true);
    await expect(t.customer.deleteSnapshot(archive.snapshotId)).rejects.toMatchObject({ status: 409 });
  });

  it('deletes a volume on the customer decision while under review, and a serving one on request', async () => {
    const reviewed = (await t.customer.createVolume(SIZE)).volumeId;
    await t.customer.write(reviewed, 0, pattern(reviewed, 4096));
    await powerLossOf(reviewed);
    await eventually('awaiting a decision', async () => (await t.customer.status(reviewed)).actions.length > 0);
    await t.customer.deleteVolume(reviewed);
    await expect(t.customer.volume(reviewed)).rejects.toMatchObject({ status: 404 });
    expect(await copiesOf(t, reviewed)).toEqual([]);

    const serving = (await t.customer.createVolume(SIZE)).volumeId;
    expect(await t.customer.deleteVolume(serving)).toMatchObject({ state: 'deleting' });
    await eventually('the serving volume deleted', async () => (await copiesOf(t, serving)).length === 0);
    await expect(t.customer.volume(serving)).rejects.toMatchObject({ status: 404 });
  });

  it('takes policy snapshots on a Temporal Schedule and keeps only the newest `retention`', async () => {
    const { volumeId } = await t.customer.createVolume(SIZE);
    await t.customer.write(volumeId, 0, pattern(volumeId, 8192));
    const policy = await t.customer.setSnapshotPolicy(volumeId, { intervalSeconds: 1, retention: 2 });
    expect(policy.scheduleId).toBe(`snapshot-policy-${volumeId}`);
    await eventually('four policy runs', async () => (await t.customer.snapshotPolicy(volumeId)).recentRuns.length >= 4, 60_000);
    await t.customer.deleteSnapshotPolicy(volumeId);
    const kept = await eventually('retention applied', async () => {
      const s = (await t.customer.snapshots(volumeId)).snapshots.filter((x) => x.kind === 'policy' && x.state === 'completed');
      return s.length === 2 && s;
    });
    expect(kept).toHaveLength(2);
    await expect(t.customer.snapshotPolicy(volumeId)).rejects.toMatchObject({ status: 404 });
  });
});
