// volumeRecovery on a real Temporal server with mocked activities: the branches that take minutes
// of cluster time in the integration tests, in seconds (short peer waits and review deadlines).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeRecoveryInput } from '../../workflows/volume-recovery.js';
import { candidateSignal, CONTROL_TASK_QUEUE, decideUpdate, volumeStatusQuery } from '../../common/messages.js';
import type { CandidateReport, RestoredReplica, ScannedReplica } from '../../common/types.js';
import { bundleWorkflows, recorded, startWorkflowEnv, withWorkers, type MockActivities } from '../support/workflow-env.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, bundle] = await Promise.all([startWorkflowEnv(), bundleWorkflows()]);
}, 120_000);
afterAll(async () => {
  await env?.teardown();
});

const scanned = (writeSeq: number): ScannedReplica => ({
  volumeId: 'v',
  sizeBytes: 4096 * 4,
  role: 'primary',
  epoch: 3,
  writeSeq,
  badBlocks: [],
  dirtyBadBlocks: [],
  digest: `d${writeSeq}`,
  baseSnapshotId: null,
  rebuilding: false,
});
const offer = (nodeId: string, writeSeq: number): CandidateReport => ({
  nodeId,
  serverRecoveryId: `server-recovery-${nodeId}-1`,
  replica: scanned(writeSeq),
});

/** A fleet that answers every call a recovery makes; the copies' scans are what `restoreCopy` restores. */
function fleet(copies: Record<string, ScannedReplica>) {
  const mocks: MockActivities = {
    incidentIsCurrent: async () => true,
    restoreCopy: async ({ nodeId }: { nodeId: string }): Promise<RestoredReplica> => ({
      ...copies[nodeId]!,
      repairedFromPeer: 0,
      repairedFromSnapshot: 0,
      blocksFromBase: 0,
      unrecoverableBlocks: [],
      base: null,
    }),
    recordRestored: async () => undefined,
    deleteCopy: async () => ({ deleted: true }),
    volumeSettings: async () => ({ autoEnableIo: false, ioState: 'paused', epoch: 3 }),
    enableCopy: async () => undefined,
    recordEnabled: async () => undefined,
    planCopy: async () => null, // the follow-up rebuild finds no room: it ends at once
    beginSnapshot: async () => undefined,
    snapshotCopy: async ({ snapshotId }: { snapshotId: string }) => ({ snapshotId, writeSeq: 1, digest: 'd', chunks: 1, bytesUploaded: 0 }),
    recordSnapshot: async () => undefined,
    recordArchived: async () => undefined,
    dropSnapshotPolicy: async () => undefined,
    copiesOf: async () => Object.keys(copies),
    recordVolumeDeleted: async () => undefined,
    notifyCopyResolved: async () => undefined, // no server recovery runs here
  };
  return recorded(mocks);
}

async function startRecovery(id: string, input: Partial<VolumeRecoveryInput>, first: CandidateReport) {
  const args: VolumeRecoveryInput = {
    volumeId: 'v',
    epoch: 3,
    expectedNodes: [first.nodeId],
    peerWaitMs: 200,
    reviewDeadlineMs: 60_000,
    ...input,
  };
  return env.client.workflow.signalWithStart('volumeRecovery', {
    workflowId: id,
    taskQueue: CONTROL_TASK_QUEUE,
    args: [args],
    signal: candidateSignal,
    signalArgs: [first],
  });
}

async function untilReview(handle: Awaited<ReturnType<typeof startRecovery>>) {
  for (let i = 0; i < 200; i++) {
    const status = await handle.query(volumeStatusQuery);
    if (status.awaitingDecision) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the recovery never asked for a decision');
}

describe('volumeRecovery (workflow, mocked activities)', () => {
  it('elects the lone candidate when the peer wait elapses', async () => {
    const { activities, calls } = fleet({ a: scanned(5) });
    await withWorkers(env, bundle, activities, async () => {
      const handle = await startRecovery('vr-lone', { expectedNodes: ['a', 'b'], peerWaitMs: 300 }, offer('a', 5));
      const status = await untilReview(handle);
      expect(status).toMatchObject({ phase: 'configuration', winner: 'a', candidates: ['a'], proof: null });
      expect(calls.filter((c) => c.name === 'restoreCopy').map((c) => c.input)).toEqual([{ nodeId: 'a', volumeId: 'v', repairFrom: [] }]);
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'delete' }] });
      expect(await handle.result()).toEqual({ winner: 'a', decision: 'delete (customer)', epoch: 3 });
    });
  });

  it('archives when the review deadline passes without a decision', async () => {
    const { activities, calls } = fleet({ a: scanned(5) });
    await withWorkers(env, bundle, activities, async () => {
      const handle = await startRecovery('vr-deadline', { reviewDeadlineMs: 1_000 }, offer('a', 5));
      const result = await handle.result();
      expect(result).toMatchObject({ winner: 'a', decision: 'archive (deadline)' });
      expect(calls.map((c) => c.name)).toEqual(expect.arrayContaining(['snapshotCopy', 'recordArchived', 'deleteCopy']));
      expect(calls.find((c) => c.name === 'recordArchived')?.input).toMatchObject({ volumeId: 'v', by: 'review deadline passed' });
    });
  });

  it('carries out a decision that arrives twice only once', async () => {
    const { activities, calls } = fleet({ a: scanned(5) });
    await withWorkers(env, bundle, activities, async () => {
      const handle = await startRecovery('vr-twice', {}, offer('a', 5));
      await untilReview(handle);
      const decide = () => handle.executeUpdate(decideUpdate, { args: [{ action: 'enable-io' }] });
      const answers = await Promise.all([decide(), decide()]);
      expect(answers.map((a) => a.alreadyApplied).sort()).toEqual([false, true]);
      expect(answers.every((a) => a.action === 'enable-io' && a.epoch === 4 && a.nodeId === 'a')).toBe(true);
      expect(await handle.result()).toEqual({ winner: 'a', decision: 'enable-io (customer)', epoch: 4 });
      expect(calls.filter((c) => c.name === 'enableCopy')).toHaveLength(1);
      expect(calls.filter((c) => c.name === 'recordEnabled')).toHaveLength(1);
    });
  });

  it('lets a late copy with more data take over before a decision', async () => {
    const { activities, calls } = fleet({ a: scanned(5), b: scanned(7) });
    await withWorkers(env, bundle, activities, async () => {
      const handle = await startRecovery('vr-late', {}, offer('a', 5));
      await untilReview(handle);
      await handle.signal(candidateSignal, offer('b', 7));
      let status = await handle.query(volumeStatusQuery);
      for (let i = 0; i < 100 && status.winner !== 'b'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        status = await handle.query(volumeStatusQuery);
      }
      expect(status.winner).toBe('b');
      expect(calls.filter((c) => c.name === 'restoreCopy').map((c) => (c.input as { nodeId: string }).nodeId)).toEqual(['a', 'b']);
      // the old winner is deleted after the new one is restored and recorded: wait for that step
      for (let i = 0; i < 100 && !calls.some((c) => c.name === 'deleteCopy'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(calls.find((c) => c.name === 'deleteCopy')?.input).toEqual({ nodeId: 'a', volumeId: 'v', reason: 'copy on b was elected' });
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'delete' }] });
      expect(await handle.result()).toEqual({ winner: 'b', decision: 'delete (customer)', epoch: 3 });
    });
  });
});
