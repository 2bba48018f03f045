// Spec test 2: the power domains holding both copies of a volume fail together and return.
// (Placement never puts both copies in one power domain, so losing both copies takes two
// domains at once — e.g. a shared feed.) The volume is elected, restored read-only with I/O
// held; a write issued during the hold stays pending until the customer enables I/O.
import { execFileSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverRecoveryId } from '../../common/messages.js';
import {
  copiesOf,
  eventually,
  nodeView,
  pattern,
  powerOf,
  startTestCluster,
  type TestCluster,
  reviewEvent,
} from '../support/test-cluster.js';

describe('both power domains holding a volume fail and return', () => {
  let t: TestCluster;
  let volumeId = '';
  const before = pattern('before the outage', 16 * 1024);
  const after = pattern('written while held', 4096);

  beforeAll(async () => {
    t = await startTestCluster('power-domains');
    volumeId = (await t.customer.createVolume(1024 * 1024)).volumeId;
    await t.customer.write(volumeId, 0, before);
  });
  afterAll(() => t?.stop());

  it('restores the volume read-only, holds I/O until enable-io, and shows all four phases', async () => {
    const powers = [...new Set((await copiesOf(t, volumeId)).map((c) => powerOf(t, c.nodeId)))];
    expect(powers).toHaveLength(2);
    const killed = (await Promise.all(powers.map((p) => t.cluster.powerFail('power', p)))).flat();
    const restartedAt = Date.now();
    await Promise.all(killed.map((n) => t.cluster.startNode(n)));

    // when both copies report, then the volume is restored read-only and awaits the customer
    await eventually('the volume awaiting a decision', async () => (await t.customer.status(volumeId)).actions.length > 0);
    const status = await t.customer.status(volumeId);
    expect(status.volumeStatus.status).toBe('impaired');
    expect(status.volumeStatus.details).toEqual([{ name: 'io-enabled', status: 'failed' }]);
    expect(reviewEvent(status)).toMatchObject({
      eventType: 'potential-data-inconsistency',
      description: 'Awaiting Action: Enable IO',
      notAfter: null,
    });
    const restoredAt = Date.parse(reviewEvent(status).notBefore);

    // the elected copy is restored; its identical twin is kept, not deleted, to become its secondary
    const copies = await copiesOf(t, volumeId);
    const winner = copies.find((c) => c.state === 'restored')!.nodeId;
    const twin = copies.find((c) => c.nodeId !== winner)!;
    expect(twin.state).toBe('candidate');
    expect(await nodeView(t, winner, volumeId)).toMatchObject({ mode: 'restored', ioState: 'paused' });

    // a write issued during the hold is neither answered nor failed
    let settled = false;
    const held = t.customer.write(volumeId, 0, after).finally(() => (settled = true));
    await eventually('the write held on the node', async () => (await nodeView(t, winner, volumeId)).heldRequests === 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(settled).toBe(false);

    // review reads work during the hold and show the data from before the decision
    expect(await t.customer.reviewRead(volumeId, 0, before.length)).toEqual(before);

    // the Temporal CLI finds the node's recovery in the configuration phase
    const recovery = (await t.operator.recoveries()).recoveries.find((r) => r.nodeId === winner)!;
    const listed = execFileSync(
      process.env.TEMPORAL_CLI!,
      ['workflow', 'list', '--address', t.cluster.temporalAddress, '--query', 'RecoveryPhase="configuration"'],
      { encoding: 'utf8' },
    );
    expect(listed).toContain(recovery.workflowId);

    // enable-io releases the held write, which then completes
    const enabledAt = Date.now();
    const enabled = await t.customer.enableIo(volumeId);
    expect(enabled).toMatchObject({ ioState: 'enabled', alreadyEnabled: false });
    expect((await held).writeSeq).toBeGreaterThan(0);
    const completedAt = Date.now();
    expect(await t.customer.read(volumeId, 0, before.length)).toEqual(Buffer.concat([after, before.subarray(after.length)]));

    // the twin joined as the secondary before the held write was released: it has that write too
    const [primaryView, secondaryView] = await Promise.all([nodeView(t, winner, volumeId), nodeView(t, twin.nodeId, volumeId)]);
    expect(secondaryView).toMatchObject({
      role: 'secondary',
      epoch: enabled.epoch,
      writeSeq: primaryView.writeSeq,
      digest: primaryView.digest,
    });

    const final = await t.customer.status(volumeId);
    expect(final.actions).toEqual([]);
    expect(reviewEvent(final)).toMatchObject({ description: 'IO Enabled' });
    expect(reviewEvent(final).notAfter).not.toBeNull();
    expect(await t.customer.enableIo(volumeId)).toMatchObject({ alreadyEnabled: true });

    // the server recovery's history shows the four phases in order
    const phases = await recordedPhases(t, recovery.workflowId);
    expect(phases).toEqual(['notice', 'investigation', 'recovery', 'configuration']);

    const inService = await eventually(
      'the recovery marked in service',
      async () => (await t.operator.recoveries()).recoveries.find((r) => r.workflowId === recovery.workflowId)?.inServiceAt,
    );
    console.log(
      `[figures] node restart -> back in service ${((Date.parse(inService) - restartedAt) / 1000).toFixed(2)} s; ` +
        `report admitted -> volume restored ${((restoredAt - Date.parse(recovery.admittedAt)) / 1000).toFixed(2)} s; ` +
        `enable-io -> held write completed ${((completedAt - enabledAt) / 1000).toFixed(2)} s`,
    );
    expect(recovery.workflowId).toBe(serverRecoveryId(winner, Number(recovery.workflowId.split('-').at(-1))));
  });
});

async function recordedPhases(t: TestCluster, workflowId: string): Promise<string[]> {
  const connection = await Connection.connect({ address: t.cluster.temporalAddress });
  try {
    const client = new Client({ connection });
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const phases: string[] = [];
    for (const e of history.events ?? []) {
      const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.RecoveryPhase;
      if (field?.data) phases.push(JSON.parse(Buffer.from(field.data).toString()));
    }
    return phases;
  } finally {
    await connection.close();
  }
}
