// Spec test 4: only one copy returns and its peer never does. The volume recovery waits for
// the peer until its deadline, then elects the lone copy; without a second copy there is no
// proof, so even with autoEnableIo the volume waits for its customer.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { volumeRecoveryId, volumeStatusQuery } from '../../common/messages.js';
import {
  copiesOf,
  eventually,
  nodeView,
  pattern,
  REVIEW_ACTION_CODES,
  startTestCluster,
  TEST_TIMINGS,
  type TestCluster,
} from '../support/test-cluster.js';

describe('one copy returns, its peer never does', () => {
  let t: TestCluster;
  let volumeId = '';

  beforeAll(async () => {
    t = await startTestCluster('lone-survivor');
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
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(Number(TEST_TIMINGS.PEER_WAIT_MS) - 500);
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
});
