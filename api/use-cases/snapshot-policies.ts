// Snapshot policies: one Temporal Schedule per volume (visible in the Temporal UI), each tick
// a snapshotPolicy workflow that snapshots the volume and keeps the newest `retention`.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleSpec } from '@temporalio/client';
import { z } from 'zod';
import { CONTROL_TASK_QUEUE, snapshotPolicyScheduleId } from '../../common/messages.js';
import { snapshotPolicy } from '../../workflows/volume-maintenance.js';
import { AppError, notFound } from '../errors.js';
import { minCronSpacingSeconds } from './cron-spacing.js';
import type { Deps } from './deps.js';
import { requireVolume } from './volumes.js';

export const SnapshotPolicyBody = z
  .strictObject({
    intervalSeconds: z
      .number()
      .int()
      .positive()
      .max(366 * 86400)
      .optional(),
    cron: z.string().min(6).max(100).optional(),
    retention: z.number().int().min(1).max(1000),
  })
  .refine((b) => (b.intervalSeconds === undefined) !== (b.cron === undefined), { message: 'give exactly one of intervalSeconds and cron' });

type PolicyBody = z.infer<typeof SnapshotPolicyBody>;

export async function putSnapshotPolicy(deps: Deps, customerId: string, volumeId: string, body: PolicyBody) {
  await requireVolume(deps, customerId, volumeId);
  checkSpacing(body, deps.config.minSnapshotIntervalSeconds);
  const spec: ScheduleSpec = body.cron ? { cronExpressions: [body.cron] } : { intervals: [{ every: body.intervalSeconds! * 1000 }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: snapshotPolicy,
    taskQueue: CONTROL_TASK_QUEUE,
    args: [{ volumeId, retention: body.retention }] satisfies Parameters<typeof snapshotPolicy>,
  };
  const scheduleId = snapshotPolicyScheduleId(volumeId);
  const handle = deps.temporal.schedule.getHandle(scheduleId);
  try {
    await handle.update((previous) => ({ ...previous, spec, action: { ...previous.action, ...action }, memo: { policy: body } }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw new AppError(400, 'invalid-request', (err as Error).message);
    await deps.temporal.schedule
      .create({ scheduleId, spec, action, memo: { policy: body }, policies: { overlap: ScheduleOverlapPolicy.SKIP } })
      .catch((e: Error) => {
        throw new AppError(400, 'invalid-request', e.message);
      });
  }
  return getSnapshotPolicy(deps, customerId, volumeId);
}

/** Every form of schedule is held to the same least spacing between runs. */
function checkSpacing(body: PolicyBody, min: number): void {
  if (body.intervalSeconds !== undefined) {
    if (body.intervalSeconds < min) throw new AppError(400, 'invalid-request', `intervalSeconds must be at least ${min}`);
    return;
  }
  const spacing = minCronSpacingSeconds(body.cron!);
  if (spacing === null) {
    throw new AppError(
      400,
      'invalid-request',
      'cron must be five fields (minute hour day month weekday), an @-macro such as @daily, or "@every <n>s|m|h|d"',
    );
  }
  if (spacing < min)
    throw new AppError(400, 'invalid-request', `cron runs as often as every ${spacing} s; snapshots may be at most one per ${min} s`);
}

export async function getSnapshotPolicy(deps: Deps, customerId: string, volumeId: string) {
  await requireVolume(deps, customerId, volumeId);
  const scheduleId = snapshotPolicyScheduleId(volumeId);
  const schedule = await deps.temporal.schedule
    .getHandle(scheduleId)
    .describe()
    .catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) throw notFound(`snapshot policy of ${volumeId}`);
      throw err;
    });
  const policy = (schedule.memo?.policy ?? {}) as Partial<PolicyBody>;
  return {
    volumeId,
    scheduleId,
    intervalSeconds: policy.intervalSeconds ?? null,
    cron: policy.cron ?? null,
    retention: policy.retention ?? null,
    nextRuns: schedule.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentRuns: schedule.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
  };
}

export async function deleteSnapshotPolicy(deps: Deps, customerId: string, volumeId: string) {
  await requireVolume(deps, customerId, volumeId);
  await deps.temporal.schedule
    .getHandle(snapshotPolicyScheduleId(volumeId))
    .delete()
    .catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) throw notFound(`snapshot policy of ${volumeId}`);
      throw err;
    });
  return { volumeId, deleted: true };
}
