// The patent's network outage: a router fails and its storage nodes, still running, lose the
// network. The control plane declares them down and fails their volumes over to the copies
// behind the other routers; when the router returns, every node reports, its stale copies are
// deleted, it serves again, and no acknowledged write is lost. Real namespaces, real packets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copiesOf, eventually, operationsOf, startTestCluster, type TestCluster } from '../support/test-cluster.js';
import {
  WriteLedger,
  everyNodeBackInService,
  everyVolumeReplicated,
  expectNoLossAndNoSplitBrain,
  failedOverAway,
  fleetStates,
  noWorkflowOpen,
  volumesOn,
} from '../support/network-scenario.js';

// Three routers; r1's two nodes are under a third of the fleet, so the mass-outage breaker lets
// their volumes fail over.
const NODES = [
  { nodeId: 'node-1', domainPath: 'dc1/az1/r1/p1/h1' },
  { nodeId: 'node-2', domainPath: 'dc1/az1/r1/p2/h2' },
  { nodeId: 'node-3', domainPath: 'dc1/az2/r2/p3/h3' },
  { nodeId: 'node-4', domainPath: 'dc1/az2/r2/p4/h4' },
  { nodeId: 'node-5', domainPath: 'dc1/az2/r2/p5/h5' },
  { nodeId: 'node-6', domainPath: 'dc1/az3/r3/p6/h6' },
  { nodeId: 'node-7', domainPath: 'dc1/az3/r3/p7/h7' },
];
const SIZE = 256 * 1024;

describe('a router fails: its nodes keep running but lose the network', () => {
  let t: TestCluster;
  let ledger: WriteLedger;
  const volumes: string[] = [];
  let cutOff: string[] = [];
  let affected: string[] = [];
  /** The copies on the cut-off nodes when the router failed: stale once their volumes fail over. */
  const stale: { nodeId: string; volumeId: string }[] = [];
  let heal: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    t = await startTestCluster('net-router', { nodes: NODES, networkHosts: true });
    ledger = new WriteLedger(t);
    for (let i = 0; i < 5; i++) {
      const { volumeId } = await t.customer.createVolume(SIZE);
      volumes.push(volumeId);
      await ledger.write(volumeId, 0, 'before', 8192);
    }
    cutOff = t.cluster.nodesIn('router', 'r1');
    affected = await volumesOn(t, volumes, cutOff);
    for (const v of affected)
      for (const c of await copiesOf(t, v)) if (cutOff.includes(c.nodeId)) stale.push({ nodeId: c.nodeId, volumeId: v });
  });
  afterAll(() => t?.stop());

  it('declares the router’s nodes down and fails their volumes over to the other routers', async () => {
    expect(cutOff).toEqual(['node-1', 'node-2']);
    expect(affected.length).toBeGreaterThan(0);

    heal = await t.cluster.network!.faults.cutRouter('r1');

    await eventually('the cut-off nodes declared down', () => downAll(t, cutOff));
    await eventually('every affected volume failed over', () => failedOverAway(t, affected, cutOff));
    // the customer keeps writing to every volume while the router is down
    for (const v of volumes) await ledger.write(v, 8192, 'during');
  });

  it('when the router returns, every node reports and serves again, its stale copies deleted, every write intact', async () => {
    await heal();

    await everyNodeBackInService(t, cutOff);
    await everyVolumeReplicated(t, volumes);
    for (const { nodeId, volumeId } of stale) {
      const deleted = (await operationsOf(t, nodeId)).filter((o) => o.op === 'delete').map((o) => o.volumeId);
      expect(deleted, `${nodeId}'s stale copy`).toContain(volumeId);
    }
    for (const v of volumes) await ledger.write(v, 12288, 'after');
    await expectNoLossAndNoSplitBrain(t, ledger);
    await noWorkflowOpen(t);
  });
});

async function downAll(t: TestCluster, nodes: string[]): Promise<boolean> {
  const states = await fleetStates(t);
  return nodes.every((n) => states[n] === 'down');
}
