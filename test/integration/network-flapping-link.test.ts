// A primary's link flaps while the customer writes (down longer than the heartbeat timeout, so the
// control plane declares the node down and back again): whatever the control plane and the nodes
// decide meanwhile (fail over or not), no acknowledged write is lost, no two copies acknowledge
// writes at different epochs, and once the link stays up every node serves and every volume is
// on two copies again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copiesOf, startTestCluster, type TestCluster } from '../support/test-cluster.js';
import {
  WriteLedger,
  everyNodeBackInService,
  everyVolumeReplicated,
  expectNoLossAndNoSplitBrain,
  noWorkflowOpen,
} from '../support/network-scenario.js';

const SIZE = 1024 * 1024;
const FLAPPING_MS = 12_000;

describe('a primary’s link flaps', () => {
  let t: TestCluster;
  let ledger: WriteLedger;
  const volumes: string[] = [];

  beforeAll(async () => {
    t = await startTestCluster('net-flap', { networkHosts: true });
    ledger = new WriteLedger(t);
    for (let i = 0; i < 3; i++) {
      const { volumeId } = await t.customer.createVolume(SIZE);
      volumes.push(volumeId);
      await ledger.write(volumeId, 0, 'before');
    }
  });
  afterAll(() => t?.stop());

  it('loses no acknowledged write and splits no brain, and everything serves on two copies once the link is steady', async () => {
    const victim = (await copiesOf(t, volumes[0]!)).find((c) => c.role === 'primary')!.nodeId;
    const heal = t.cluster.network!.faults.flap(victim, { downMs: 2500, upMs: 1500 });
    const until = Date.now() + FLAPPING_MS;
    let offset = 4096;
    let attempted = 0;
    // A round every 100 ms at the most, and never past the end of the volume (one block kept for the write after).
    while (Date.now() < until && offset + 2 * 4096 <= SIZE) {
      const round = Date.now();
      for (const v of volumes) await ledger.tryWrite(v, offset, `flap-${attempted++}`, 20_000);
      offset += 4096;
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - round))));
    }
    await heal();

    // writes made while flapping were not all refused
    expect(ledger.writes.length).toBeGreaterThan(volumes.length);
    await everyNodeBackInService(t, []);
    await everyVolumeReplicated(t, volumes);
    for (const v of volumes) await ledger.write(v, offset, 'after');
    await expectNoLossAndNoSplitBrain(t, ledger);
    await noWorkflowOpen(t);
  });
});
