// Spec test 5: the worker is SIGKILLed mid-recovery and restarted. Every workflow finishes,
// nothing is deleted twice, and no volume loses its last copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allAutoEnabled, copiesOf, eventually, operationsOf, pattern, startTestCluster, volumesWithData, type TestCluster } from '../support/test-cluster.js';

describe('the worker dies in the middle of a data-center recovery', () => {
  let t: TestCluster;
  let volumes: string[] = [];

  beforeAll(async () => {
    t = await startTestCluster('worker-crash');
    volumes = await volumesWithData(t, 8, 256 * 1024, 12_000, true);
  });
  afterAll(() => t?.stop());

  it('finishes every recovery after the worker restarts, deleting each stray copy exactly once', async () => {
    await t.cluster.worker.kill();
    await t.cluster.powerFail('dc', 'dc1');
    await Promise.all([...t.cluster.nodes.keys()].map((n) => t.cluster.startNode(n)));

    // the worker comes back, dies again part-way through, and comes back for good
    await t.cluster.startWorker();
    await new Promise((r) => setTimeout(r, 700));
    await t.cluster.worker.kill();
    await new Promise((r) => setTimeout(r, 500));
    await t.cluster.startWorker();

    await allAutoEnabled(t, volumes, 90_000);
    await eventually('every node back in service', async () => (await t.operator.fleet()).summary.inService === 6);

    for (const v of volumes) {
      const copies = await copiesOf(t, v);
      expect(copies, JSON.stringify(copies)).toHaveLength(1);
      expect(await t.customer.read(v, 0, 12_000)).toEqual(pattern(v, 12_000));
    }
    for (const nodeId of t.cluster.nodes.keys()) {
      const deletes = (await operationsOf(t, nodeId)).filter((o) => o.op === 'delete').map((o) => o.volumeId);
      expect(new Set(deletes).size, `node ${nodeId} deleted a volume twice`).toBe(deletes.length);
    }
    const recoveries = (await t.operator.recoveries()).recoveries;
    expect(recoveries.every((r) => r.inServiceAt)).toBe(true);
  });
});
