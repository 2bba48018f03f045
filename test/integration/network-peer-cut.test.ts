// A primary cut from its secondary while both still reach the control plane. The primary holds
// the write it cannot mirror, asks to serve alone, and the control plane fences the secondary at
// epoch+1; the held write is then acknowledged by the primary alone, a new secondary is rebuilt,
// and the stale copy is deleted. A node cut from everything holds its I/O and reports on return.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, requestJson } from '../../common/http.js';
import { nodeToken } from '../../common/tokens.js';
import { copiesOf, eventually, operationsOf, startTestCluster, type TestCluster } from '../support/test-cluster.js';
import {
  WriteLedger,
  everyNodeBackInService,
  everyVolumeReplicated,
  expectNoLossAndNoSplitBrain,
  noWorkflowOpen,
} from '../support/network-scenario.js';

const SIZE = 256 * 1024;

describe('a primary cut from its secondary, both reaching the control plane', () => {
  let t: TestCluster;
  let ledger: WriteLedger;
  let volumeId = '';
  let primary = '';
  let secondary = '';

  beforeAll(async () => {
    t = await startTestCluster('net-peer-cut', { networkHosts: true });
    ledger = new WriteLedger(t);
    volumeId = (await t.customer.createVolume(SIZE)).volumeId;
    await ledger.write(volumeId, 0, 'before', 8192);
    const copies = await copiesOf(t, volumeId);
    primary = copies.find((c) => c.role === 'primary')!.nodeId;
    secondary = copies.find((c) => c.role === 'secondary')!.nodeId;
  });
  afterAll(() => t?.stop());

  it('holds the write it cannot mirror, then serves alone at epoch+1 once the control plane drops the secondary', async () => {
    const heal = await t.cluster.network!.faults.cut(primary, 'peers', [secondary]);
    try {
      const started = Date.now();
      await ledger.write(volumeId, 8192, 'during');
      expect(Date.now() - started, 'the write waited for the drop, not failed').toBeGreaterThanOrEqual(1000);
      // The node accepts epoch+1 before the inventory records it: the write may be answered first.
      const copies = await eventually('the inventory records the primary alone at epoch 2', async () => {
        const now = await copiesOf(t, volumeId);
        const serving = now.find((c) => c.role === 'primary' && c.state === 'in-service');
        return serving?.nodeId === primary && serving.epoch === 2 && now;
      });
      expect(copies.find((c) => c.nodeId === secondary)?.state ?? 'gone').not.toBe('in-service');
      const { rows } = await t.db.query('select requester, peer, workflow_id from peer_drops where volume_id = $1', [volumeId]);
      expect(rows).toEqual([{ requester: primary, peer: secondary, workflow_id: `peer-drop-${volumeId}-e1` }]);
    } finally {
      await heal();
    }
  });

  it('rebuilds a new secondary elsewhere, deletes the stale copy, and every acknowledged write reads back', async () => {
    await everyVolumeReplicated(t, [volumeId]);
    const copies = await copiesOf(t, volumeId);
    expect(copies.map((c) => c.nodeId)).not.toContain(secondary);
    await eventually('the stale copy deleted', async () =>
      (await operationsOf(t, secondary)).some((o) => o.op === 'delete' && o.volumeId === volumeId),
    );
    await ledger.write(volumeId, 16384, 'after');
    await expectNoLossAndNoSplitBrain(t, ledger);
    await noWorkflowOpen(t);
  });

  it('never lets a secondary, a copy at an older epoch, or one node for another ask to serve alone', async () => {
    const copies = await copiesOf(t, volumeId);
    const current = copies.find((x) => x.role === 'primary')!;
    const newSecondary = copies.find((x) => x.role === 'secondary')!;
    const ask = (asNode: string, body: object, tokenOf = asNode) =>
      requestJson(`${t.cluster.apiUrl}/v1/nodes/${asNode}/peer-drops`, {
        method: 'POST',
        token: nodeToken(t.cluster.layout.clusterSecret, tokenOf),
        body,
      }).then(
        () => 'granted',
        (err: HttpError) => `${err.status} ${err.code}`,
      );
    const drops = async () => Number((await t.db.query('select count(*) from peer_drops')).rows[0].count);
    const before = await drops();
    expect(await ask(newSecondary.nodeId, { volumeId, epoch: current.epoch, peer: current.nodeId })).toBe('409 not-serving-primary');
    expect(await ask(current.nodeId, { volumeId, epoch: current.epoch - 1, peer: newSecondary.nodeId })).toBe('409 stale-epoch');
    expect(await ask(current.nodeId, { volumeId, epoch: current.epoch, peer: newSecondary.nodeId }, newSecondary.nodeId)).toMatch(/^403 /);
    expect(await ask(current.nodeId, { volumeId, epoch: current.epoch, peer: current.nodeId })).toBe('409 same-node');
    expect(await drops()).toBe(before);
  });
});

describe('a primary cut from everything', () => {
  let t: TestCluster;
  let ledger: WriteLedger;
  let volumeId = '';
  let primary = '';

  beforeAll(async () => {
    t = await startTestCluster('net-isolated', { networkHosts: true });
    ledger = new WriteLedger(t);
    volumeId = (await t.customer.createVolume(SIZE)).volumeId;
    await ledger.write(volumeId, 0, 'before', 8192);
    primary = (await copiesOf(t, volumeId)).find((c) => c.role === 'primary')!.nodeId;
  });
  afterAll(() => t?.stop());

  it('holds its I/O, its peer serves at epoch+1; on return it reports without torn-write checks and its stale copy goes', async () => {
    const heal = await t.cluster.network!.faults.cut(primary, 'everything');
    try {
      await eventually('the peer serving at epoch 2', async () => {
        const serving = (await copiesOf(t, volumeId)).find((c) => c.role === 'primary' && c.state === 'in-service');
        return serving && serving.nodeId !== primary && serving.epoch >= 2;
      });
      await ledger.write(volumeId, 8192, 'during');
      await eventually('the isolated node holding its I/O', async () => (await nodeLog(t, primary)).includes('network lost'));
    } finally {
      await heal();
    }
    await everyNodeBackInService(t, [primary]);
    expect(await nodeLog(t, primary)).toMatch(/"crashed":false[^\n]*recovery scan found/);
    await everyVolumeReplicated(t, [volumeId]);
    await eventually('the stale copy deleted', async () =>
      (await operationsOf(t, primary)).some((o) => o.op === 'delete' && o.volumeId === volumeId),
    );
    await expectNoLossAndNoSplitBrain(t, ledger);
    await noWorkflowOpen(t);
  });
});

function nodeLog(t: TestCluster, nodeId: string): Promise<string> {
  return readFile(join(t.cluster.opts.dir, 'logs', `${nodeId}.log`), 'utf8');
}
