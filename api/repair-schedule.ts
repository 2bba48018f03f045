// The repair loop's Temporal Schedule: `fleet-repair` starts a `repairPass` every
// REPAIR_INTERVAL_MS (skipping a tick while a pass still runs). Every API process ensures it at
// start-up; creating it twice is refused by Temporal, so several processes may race. Pausing it
// is Temporal's own (the Web UI, or `temporal schedule toggle --schedule-id fleet-repair --pause`),
// and a restart of the API never unpauses it.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { Env } from '../common/config.js';
import { logger } from '../common/log.js';
import { CONTROL_TASK_QUEUE } from '../common/messages.js';
import { FLEET_REPAIR_SCHEDULE_ID } from '../common/rules/repair.js';
import { repairPass } from '../workflows/fleet-repair.js';

export interface RepairScheduleConfig {
  /** false: the schedule is created paused, or paused if it runs. */
  enabled: boolean;
  /** Whole seconds: Temporal rounds a schedule's interval to the second. */
  intervalMs: number;
}

export function loadRepairScheduleConfig(vars: NodeJS.ProcessEnv = process.env): RepairScheduleConfig {
  const env = new Env(vars);
  const config = { enabled: env.bool('REPAIR_ENABLED', true), intervalMs: env.int('REPAIR_INTERVAL_MS', 30_000, 1000, 24 * 3600_000) };
  env.check((problems) => {
    if (config.intervalMs % 1000 !== 0) problems.push(`REPAIR_INTERVAL_MS must be whole seconds, got ${config.intervalMs}`);
  });
  return config;
}

const DISABLED_NOTE = 'paused by REPAIR_ENABLED=false';

/** Creates the schedule, or brings an existing one's interval up to date, and says so. */
export async function ensureRepairSchedule(
  temporal: Client,
  config = loadRepairScheduleConfig(),
): Promise<'created' | 'updated' | 'unchanged'> {
  const outcome = await ensure(temporal, config);
  logger({ component: 'repair-schedule' }).info(
    { scheduleId: FLEET_REPAIR_SCHEDULE_ID, outcome, ...config },
    `repair schedule ${FLEET_REPAIR_SCHEDULE_ID} ${outcome}: a pass every ${config.intervalMs / 1000} s${config.enabled ? '' : ' (REPAIR_ENABLED=false: paused)'}`,
  );
  return outcome;
}

async function ensure(temporal: Client, config: RepairScheduleConfig): Promise<'created' | 'updated' | 'unchanged'> {
  const spec = { intervals: [{ every: config.intervalMs }] };
  try {
    await temporal.schedule.create({
      scheduleId: FLEET_REPAIR_SCHEDULE_ID,
      spec,
      action: {
        type: 'startWorkflow',
        workflowType: repairPass,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [],
        workflowId: FLEET_REPAIR_SCHEDULE_ID,
      },
      // A pass missed while Temporal was away is not worth running late: the next one looks again.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: config.enabled ? {} : { paused: true, note: DISABLED_NOTE },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  // A schedule's pause and update are signals to it, so a describe can miss one sent a moment
  // ago (an operator's unpause): a new interval and the pause go in one update, never two.
  const handle = temporal.schedule.getHandle(FLEET_REPAIR_SCHEDULE_ID);
  const current = await handle.describe();
  const pause = !config.enabled;
  const intervalChanged = current.spec.intervals?.length !== 1 || current.spec.intervals[0]!.every !== config.intervalMs;
  let changed = false;
  if (intervalChanged) {
    await handle.update((previous) => ({
      ...previous,
      spec,
      state: pause ? { ...previous.state, paused: true, note: DISABLED_NOTE } : previous.state,
    }));
    changed = true;
  } else if (pause && !current.state.paused) {
    await handle.pause(DISABLED_NOTE);
    changed = true;
  }
  return changed ? 'updated' : 'unchanged';
}
