// Spec test 5: the worker is SIGKILLed mid-recovery and restarted. Every workflow finishes,
// nothing is deleted twice, and no volume loses its last copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { volumeRebuildId } from '../../common/messages.js';
import {
  allAutoEnabled,
  copiesOf,
  eventually,
  nodeView,
  operationsOf,
  pattern,
  powerOf,
  startTestCluster,
  volumesWithData,
  type TestCluster,
} from '../support/test-cluster.js';

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
      const copies = await eventually(`${v} re-replicated`, async () => {
        const c = await copiesOf(t, v);
        return c.length === 2 && c.every((r) => r.state === 'in-service') && c;
      });
      expect(new Set(copies.map((c) => powerOf(t, c.nodeId))).size, JSON.stringify(copies)).toBe(2);
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

describe('the worker dies in the middle of rebuilding a secondary', () => {
  let t: TestCluster;
  beforeAll(async () => (t = await startTestCluster('rebuild-crash', { env: { REBUILD_RANGE_BYTES: String(64 * 1024) } })));
  afterAll(() => t?.stop());

  it('resumes the copy from its last heartbeat and ends with two identical copies', async () => {
    const size = 24 * 1024 * 1024;
    const { volumeId } = await t.customer.createVolume(size);
    for (let off = 0; off < size; off += 4 * 1024 * 1024)
      await t.customer.write(volumeId, off, pattern(`${volumeId}-${off}`, 4 * 1024 * 1024));
    // the secondary's node dies for good: the volume fails over (epoch 2) and a new secondary is rebuilt
    const secondary = (await copiesOf(t, volumeId)).find((c) => c.role === 'secondary')!.nodeId;
    await t.cluster.killNode(secondary);
    const epoch = 2;

    const temporal = await Connection.connect({ address: t.cluster.temporalAddress });
    try {
      const rebuild = new Client({ connection: temporal }).workflow.getHandle(volumeRebuildId(volumeId, epoch));
      await eventually('the rebuild part-way', async () => {
        const pending = (await rebuild.describe()).raw.pendingActivities ?? [];
        return pending.some((a) => a.heartbeatDetails?.payloads?.length);
      });
      await t.cluster.worker.kill();
      await t.cluster.startWorker();
      const result = (await rebuild.result()) as { secondary: string; resumedFrom: number };
      expect(result.resumedFrom).toBeGreaterThan(0);
      const copies = await eventually('two serving copies', async () => {
        const c = (await copiesOf(t, volumeId)).filter((r) => r.state === 'in-service');
        return c.length === 2 && c;
      });
      expect(copies.map((c) => c.nodeId)).toContain(result.secondary);
      const [a, b] = await Promise.all(copies.map((c) => nodeView(t, c.nodeId, volumeId)));
      expect(a!.digest).toBe(b!.digest);
      expect(a!.writeSeq).toBe(b!.writeSeq);
    } finally {
      await temporal.close();
    }
  });
});
