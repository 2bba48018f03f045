// Spec test 1: one node power-fails; its volumes fail over; it restarts: every local copy is
// stale, deleted, the node is back in service; no volume impaired; customer I/O keeps working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copiesOf, eventually, operationsOf, pattern, startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('a single node loses power', () => {
  let t: TestCluster;
  const volumes: string[] = [];
  let victim = '';
  const SIZE = 256 * 1024;

  beforeAll(async () => {
    t = await startTestCluster('single-node');
    for (let i = 0; i < 6; i++) {
      const v = await t.customer.createVolume(SIZE);
      await t.customer.write(v.volumeId, 0, pattern(`before-${i}`, 8192));
      volumes.push(v.volumeId);
    }
  });
  afterAll(() => t?.stop());

  it('fails its volumes over, then deletes its stale copies when it returns, and serves again', async () => {
    victim = (await copiesOf(t, volumes[0]!))[0]!.nodeId;
    const affected: string[] = [];
    for (const v of volumes) if ((await copiesOf(t, v)).some((c) => c.nodeId === victim)) affected.push(v);

    await t.cluster.killNode(victim);

    // when the heartbeat times out, then every affected volume has a new epoch and one serving copy elsewhere
    await eventually('failover of every affected volume', async () => {
      for (const v of affected) {
        const copies = await copiesOf(t, v);
        const primary = copies.find((c) => c.role === 'primary' && c.state === 'in-service');
        if (!primary || primary.nodeId === victim || primary.epoch !== 2) return false;
      }
      return true;
    });

    // customer I/O keeps working on every volume while the node is down
    for (const [i, v] of volumes.entries()) {
      await t.customer.write(v, 4096, pattern(`during-${i}`, 4096));
    }

    await t.cluster.startNode(victim);

    // when the node reports, then every copy it held is stale and deleted, and it is back in service
    await eventually('the node back in service', async () => {
      const { nodes } = await t.operator.fleet();
      return (
        nodes.find((n) => n.nodeId === victim)?.state === 'in-service' &&
        (await t.operator.recoveries()).recoveries.some((r) => r.nodeId === victim && r.inServiceAt)
      );
    });
    const deleted = (await operationsOf(t, victim)).filter((o) => o.op === 'delete').map((o) => o.volumeId);
    expect(deleted.sort()).toEqual([...affected].sort());
    for (const v of affected) expect((await copiesOf(t, v)).map((c) => c.nodeId)).not.toContain(victim);

    // no volume is impaired, and every write — before and during the outage — reads back
    for (const [i, v] of volumes.entries()) {
      const { volumeStatus } = await t.customer.status(v);
      expect(volumeStatus.status).not.toBe('impaired');
      expect(await t.customer.read(v, 0, 8192)).toEqual(
        Buffer.concat([pattern(`before-${i}`, 8192).subarray(0, 4096), pattern(`during-${i}`, 4096)]),
      );
    }
  });

  it('places new volumes on the returned node again', async () => {
    // the returned node has the most free space, so the next volume's primary lands there
    const v = await t.customer.createVolume(SIZE);
    expect((await copiesOf(t, v.volumeId)).map((c) => c.nodeId)).toContain(victim);
  });
});
