// Spec test 4: only one copy returns and its peer never does. The volume recovery waits for
// the peer until its deadline, then elects the lone copy; without a second copy there is no
// proof, so even with autoEnableIo the volume waits for its customer. And when the lone copy
// lost a block and its peer does come back, late, after the owner chose to enable I/O anyway.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { volumeRecoveryId, volumeStatusQuery } from '../../common/messages.js';
import {
  corrupt,
  copiesOf,
  eventually,
  nodeView,
  pattern,
  REVIEW_ACTION_CODES,
  startTestCluster,
  type TestCluster,
} from '../support/test-cluster.js';

describe('one copy returns, its peer never does', () => {
  let t: TestCluster;
  let volumeId = '';

  beforeAll(async () => {
    // a peer wait long enough for a killed node to boot and report inside it
    t = await startTestCluster('lone-survivor', { env: { PEER_WAIT_MS: '6000' } });
    volumeId = (await t.customer.createVolume(256 * 1024, true)).volumeId;
    await t.customer.write(volumeId, 0, pattern('lone', 4096));
  });
  afterAll(() => t?.stop());

  it('elects the returning copy after the peer deadline and does not auto-enable', async () => {
    const [returning, lost] = (await copiesOf(t, volumeId)).map((c) => c.nodeId) as [string, string];
    await Promise.all([t.cluster.killNode(returning), t.cluster.killNode(lost)]);
    await t.cluster.startNode(returning);
    const startedAt = Date.now();

    const connection = await Connection.connect({ address: t.cluster.temporalAddress });
    const handle = new Client({ connection }).workflow.getHandle(volumeRecoveryId(volumeId, 1));
    try {
      // while the deadline runs, the volume recovery is still waiting for the peer
      const early = await eventually('the volume recovery', () => handle.query(volumeStatusQuery));
      expect(early).toMatchObject({ phase: 'investigation', winner: null, candidates: [returning] });

      const awaiting = await eventually('election after the deadline', async () => {
        const s = await handle.query(volumeStatusQuery);
        return s.awaitingDecision && s;
      });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(6000 - 500);
      expect(awaiting).toMatchObject({ winner: returning, proof: null, decision: null });
    } finally {
      await connection.close();
    }

    const status = await t.customer.status(volumeId);
    expect(status.actions.map((a) => a.code)).toEqual(REVIEW_ACTION_CODES);
    expect(await nodeView(t, returning, volumeId)).toMatchObject({ mode: 'restored', ioState: 'paused' });
    expect(await t.customer.reviewRead(volumeId, 0, 4096)).toEqual(pattern('lone', 4096));

    await t.customer.enableIo(volumeId);
    expect(await t.customer.read(volumeId, 0, 4096)).toEqual(pattern('lone', 4096));
    expect((await t.customer.volume(volumeId)).epoch).toBe(2);
  });

  // chaos seed 401207 scenario 23: enabling retired the absent twin, whose copy was then deleted
  it('waits for the late twin before enabling I/O on a copy with a lost block, and repairs that block from it', async () => {
    const id = (await t.customer.createVolume(256 * 1024)).volumeId;
    const data = pattern(id, 64 * 1024);
    await t.customer.write(id, 0, data);
    const [returning, late] = (await copiesOf(t, id)).map((c) => c.nodeId) as [string, string];
    await Promise.all([t.cluster.killNode(returning), t.cluster.killNode(late)]);
    await corrupt(t, returning, id, 5 * 4096 + 100); // written, so dirty: no snapshot and no peer can repair it
    await t.cluster.startNode(returning);
    const restored = await eventually('the lone copy restored with the block lost', async () => {
      const s = await volumeStatusOf(id);
      return s?.awaitingDecision && s;
    });
    expect(restored.unrecoverableBlocks).toEqual([5]);

    const enabled = t.customer.enableIo(id); // the owner enables anyway; the recovery waits for the twin first
    await new Promise((r) => setTimeout(r, 500));
    expect((await t.customer.volume(id)).ioState).toBe('paused');
    await t.cluster.startNode(late);
    expect((await enabled).ioState).toBe('enabled');

    expect((await t.customer.read(id, 0, data.length)).equals(data)).toBe(true);
    const { events } = await t.customer.status(id);
    expect(events.map((e) => e.eventType)).toContain('blocks-repaired');
    await eventually('two copies in service again (the twin repaired from, then replaced)', async () => {
      const copies = await copiesOf(t, id);
      return copies.length === 2 && copies.every((c) => c.state === 'in-service');
    });
  });

  async function volumeStatusOf(id: string) {
    const connection = await Connection.connect({ address: t.cluster.temporalAddress });
    try {
      return await new Client({ connection }).workflow.getHandle(volumeRecoveryId(id, 1)).query(volumeStatusQuery);
    } finally {
      await connection.close();
    }
  }
});
