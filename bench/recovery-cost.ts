// What a recovery costs the control plane, per unique volume and per server recovery, beside one
// no-op workflow on the same Temporal server in the same run: Temporal actions counted from the
// histories, and CPU from /proc with the simulated storage nodes apart (a real fleet gives every
// node its own machine).
import { Client, Connection } from '@temporalio/client';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { temporalServerCpu, type CpuSample } from './cpu.js';
import { runNoopWorkflows } from './noop-cost.js';
import { historyStats, LARGE_HISTORY_CONNECTION, mergeStats, type HistoryStats } from './temporal-histories.js';

const NOOP_WORKFLOWS = 500;
const NOOP_CONCURRENCY = 50;

export interface RecoveryWindow {
  since: number;
  seconds: number;
  volumes: number;
  servers: number;
  cpuBefore: CpuSample;
  cpuAfter: CpuSample;
}

/** After the recovery: the histories of every workflow started since `since`, then the no-op peer. */
export async function recoveryCost(cluster: LocalCluster, w: RecoveryWindow): Promise<Record<string, unknown>> {
  const connection = await Connection.connect({ address: cluster.temporalAddress, ...LARGE_HISTORY_CONNECTION });
  try {
    const client = new Client({ connection });
    const after = new Date(w.since).toISOString();
    const progress = (label: string) => (done: number, total: number) => {
      if (done === total || done % 500 === 0) process.stderr.write(`fleet: ${label} histories ${done}/${total}\n`);
    };
    const servers = await historyStats(client, `WorkflowType = "serverRecovery" AND StartTime > "${after}"`, {
      onProgress: progress('server recovery'),
    });
    const others = await historyStats(client, `WorkflowType != "serverRecovery" AND StartTime > "${after}"`, {
      onProgress: progress('other'),
    });
    const all = mergeStats(servers, others);
    const noop = await runNoopWorkflows(cluster.temporalAddress, {
      workflows: NOOP_WORKFLOWS,
      concurrency: NOOP_CONCURRENCY,
      taskQueue: 'bench-noop',
      serverCpu: () => temporalServerCpu(cluster.processes().temporal.pid),
    });
    const noopStats = await historyStats(client, `WorkflowType = "noopWorkflow" AND WorkflowId != "bench-noop-warmup"`);
    const controlCpuMs = controlPlaneCpuMs(w.cpuBefore, w.cpuAfter);
    const perVolume = (n: number) => round(n / w.volumes);
    return {
      ...actionsPer('PerVolume', all, w.volumes),
      ...actionsPer('PerServerRecovery', servers, w.servers),
      recoveryWorkflowsByType: all.byType,
      recoveryRunsByStatus: all.byStatus,
      maxHistoryEvents: all.maxHistoryEvents,
      maxHistoryBytes: all.maxHistoryBytes,
      maxPendingActivities: all.maxPendingActivities,
      controlPlaneCpuMsPerVolume: perVolume(controlCpuMs),
      storageNodeCpuMsPerVolume: perVolume((w.cpuAfter.storageNodes - w.cpuBefore.storageNodes) * 1000),
      noopWorkflowsPerSecond: round(noop.noopWorkflowsPerSecond),
      noopCpuMsPerWorkflow: round(noop.noopCpuMsPerWorkflow),
      noopActionsPerWorkflow: round(noopStats.actions / Math.max(1, noopStats.workflows)),
      cpuRatioToNoop: round(controlCpuMs / w.volumes / noop.noopCpuMsPerWorkflow),
    };
  } finally {
    await connection.close();
  }
}

/** The Temporal server, the worker, the API and every Postgres process (the inventory, and the Temporal server's own databases when it runs on Postgres). */
function controlPlaneCpuMs(before: CpuSample, after: CpuSample): number {
  const groups = ['temporal', 'worker', 'api', 'postgres'] as const;
  return groups.reduce((sum, g) => sum + (after[g] - before[g]) * 1000, 0);
}

function actionsPer(suffix: string, s: HistoryStats, n: number): Record<string, number> {
  const per = (v: number) => round(v / Math.max(1, n));
  return {
    [`temporalActions${suffix}`]: per(s.actions),
    [`workflowTasks${suffix}`]: per(s.workflowTasks),
    [`activityTasks${suffix}`]: per(s.activityTasks),
    [`localActivities${suffix}`]: per(s.localActivities),
    [`signals${suffix}`]: per(s.signals),
    [`updates${suffix}`]: per(s.updates),
    [`timers${suffix}`]: per(s.timers),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
