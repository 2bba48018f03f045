// Activities of the repair loop (workflows/fleet-repair.ts): the facts a pass decides on — the
// inventory, the breaker and the workflows running now — and the repairs that are one statement.
// Rebuilds are `volumeRebuild` children of the pass, not activities.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { Env } from '../common/config.js';
import { holdsFailover } from '../common/rules/failover.js';
import {
  OWNING_WORKFLOW_TYPES,
  ownerOf,
  subjectOf,
  type RepairChanges,
  type RepairFacts,
  type RepairPolicy,
} from '../common/rules/repair.js';
import type { NodeState } from '../common/states.js';
import type { Db } from '../api/repositories/db.js';
import {
  abandonStuckRebuild,
  askToReport,
  databaseNow,
  dropRepairs,
  fleetReachability,
  listRepairs,
  repairNodes,
  repairVolumes,
  saveRepairs,
  volumesWithStuckCopies,
} from '../api/repositories/repairs.js';
import { readMassOutageHold, readThrottle } from '../api/repositories/settings.js';
import { underReplicatedVolumes } from '../api/repositories/fleet-health.js';

/** The most volumes of each kind one pass looks at; the rest wait for the next. */
const SCAN_LIMIT = 1000;

export interface RepairConfig {
  policy: RepairPolicy;
  heartbeatTimeoutMs: number;
  /** The breaker's share unless an operator set another (settings 'throttle'). */
  massOutageShare: number;
}

/** The worker reads these: the same HEARTBEAT_TIMEOUT_MS and MASS_OUTAGE_SHARE as the API, DATA_CONCURRENCY as its data queue. */
export function loadRepairConfig(vars: NodeJS.ProcessEnv = process.env): RepairConfig {
  const env = new Env(vars);
  const config: RepairConfig = {
    policy: {
      graceMs: env.int('REPAIR_GRACE_MS', 15_000, 0),
      stuckMs: env.int('REPAIR_STUCK_MS', 120_000, 1000),
      backoffMs: env.int('REPAIR_BACKOFF_MS', 30_000, 100),
      backoffCapMs: env.int('REPAIR_BACKOFF_CAP_MS', 15 * 60_000, 100),
      maxRebuilds: env.int('DATA_CONCURRENCY', 4, 1, 1000),
    },
    heartbeatTimeoutMs: env.int('HEARTBEAT_TIMEOUT_MS', 5000, 100),
    massOutageShare: env.number('MASS_OUTAGE_SHARE', 1 / 3, 0, 1),
  };
  env.check((problems) => {
    if (config.policy.backoffCapMs < config.policy.backoffMs) problems.push('REPAIR_BACKOFF_CAP_MS must be at least REPAIR_BACKOFF_MS');
  });
  return config;
}

type Running = Pick<RepairFacts, 'volumeWork' | 'busyNodes' | 'repairRebuildsRunning'>;

/** The recoveries, rebuilds, peer drops and failovers running now (Temporal visibility), by what they work on. */
async function runningWork(client: Client, volumeIds: Set<string>): Promise<Running> {
  const types = OWNING_WORKFLOW_TYPES.map((t) => `WorkflowType = '${t}'`).join(' OR ');
  const running: Running = { volumeWork: [], busyNodes: [], repairRebuildsRunning: 0 };
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running' AND (${types})`, pageSize: 1000 })) {
    const owner = ownerOf(wf.workflowId);
    if (owner && 'nodeId' in owner) running.busyNodes.push(owner.nodeId);
    else if (owner) {
      if (owner.repair) running.repairRebuildsRunning++;
      // only the volumes this pass looks at: the facts stay small in the pass's history
      if (volumeIds.has(owner.volumeId)) running.volumeWork.push({ volumeId: owner.volumeId, epoch: owner.epoch, rebuild: owner.rebuild });
    }
  }
  return running;
}

async function breaker(db: Db, config: RepairConfig, now: number): Promise<Pick<RepairFacts, 'breakerHolds' | 'fleet'>> {
  const { total, unreachable } = await fleetReachability(db, config.heartbeatTimeoutMs);
  const { massOutageShare } = await readThrottle(db, { maxConcurrentRecoveries: 1, massOutageShare: config.massOutageShare });
  const holdUntil = await readMassOutageHold(db);
  const tripped = holdsFailover({ suspects: unreachable, down: 0, total }, massOutageShare);
  return { breakerHolds: tripped || (holdUntil !== null && holdUntil > now), fleet: { total, unreachable, massOutageShare } };
}

export function createRepairActivities(db: Db, client: Client, config: RepairConfig = loadRepairConfig()) {
  const { policy } = config;
  return {
    /** What a repair pass decides on. A fleet with nothing to look at costs no call to Temporal. */
    async readRepairFacts(): Promise<{ facts: RepairFacts; policy: RepairPolicy }> {
      const now = await databaseNow(db);
      const records = await listRepairs(db);
      const recorded = records.map((r) => subjectOf(r.subject));
      const volumeIds = new Set([
        ...(await underReplicatedVolumes(db, SCAN_LIMIT)).map((v) => v.volumeId),
        ...(await volumesWithStuckCopies(db, policy.stuckMs, SCAN_LIMIT)),
        ...recorded.flatMap((s) => (s.volumeId ? [s.volumeId] : [])),
      ]);
      const volumes = await repairVolumes(db, [...volumeIds]);
      const nodeIds = new Set([
        ...volumes.flatMap((v) => v.copies.map((c) => c.nodeId)),
        ...recorded.flatMap((s) => (s.nodeId ? [s.nodeId] : [])),
      ]);
      const nodes = await repairNodes(db, [...nodeIds], config.heartbeatTimeoutMs);
      const quiet = volumes.length === 0 && nodes.length === 0 && records.length === 0;
      const owners = quiet ? { volumeWork: [], busyNodes: [], repairRebuildsRunning: 0 } : await runningWork(client, volumeIds);
      return { facts: { now, ...(await breaker(db, config, now)), volumes, nodes, ...owners, records }, policy };
    },

    /** The node is declared down, so its next heartbeat asks for a report; false when it moved on meanwhile. */
    async askNodeToReport(input: { nodeId: string; state: NodeState; newestIncident: number }): Promise<boolean> {
      const asked = await askToReport(db, input.nodeId, input.state, input.newestIncident);
      if (asked) Context.current().log.warn(`repair: ${input.nodeId} asked to report again (was ${input.state})`, input);
      return asked;
    },

    /** A rebuilding copy no workflow works on leaves the volume; false when it moved on meanwhile. */
    async abandonStuckRebuild(input: { volumeId: string; nodeId: string }): Promise<boolean> {
      const abandoned = await abandonStuckRebuild(db, input.volumeId, input.nodeId, policy.stuckMs);
      if (abandoned) Context.current().log.warn(`repair: abandoned the stuck rebuild of ${input.volumeId} on ${input.nodeId}`, input);
      return abandoned;
    },

    async recordRepairs(changes: RepairChanges): Promise<void> {
      await saveRepairs(db, changes.upserts);
      await dropRepairs(db, changes.resolved);
    },
  };
}
