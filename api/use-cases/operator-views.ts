// Operator views for the console: recovery workflows with their phase (Temporal visibility),
// the mass-outage breaker as the inventory shows it, the review queue, copies per node.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { inventoryCounts } from '../repositories/metrics.js';
import { copiesByNode, openReviews, unreachableNodeIds } from '../repositories/operator-views.js';
import { readMassOutageHold, readThrottle } from '../repositories/settings.js';
import type { Deps } from './deps.js';

const RECOVERY_TYPES = ['serverRecovery', 'volumeRecovery', 'nodeFailover', 'volumeRebuild'];

function workflowView(w: WorkflowExecutionInfo) {
  const attrs = w.searchAttributes as Record<string, unknown[] | undefined>;
  const first = (key: string) => (attrs[key]?.[0] as string | undefined) ?? null;
  return {
    workflowId: w.workflowId,
    runId: w.runId,
    type: w.type,
    status: w.status.name,
    phase: first('RecoveryPhase'),
    nodeId: first('StorageNode'),
    volumeId: first('VolumeId'),
    startedAt: w.startTime.toISOString(),
    closedAt: w.closeTime?.toISOString() ?? null,
  };
}

/** The newest recovery-related workflows (at most `limit`), and where the Temporal UI shows them. */
export async function recoveryWorkflows(deps: Deps, limit: number, temporalUiUrl: string) {
  const query = RECOVERY_TYPES.map((t) => `WorkflowType="${t}"`).join(' OR ');
  const workflows = [];
  for await (const w of deps.temporal.workflow.list({ query, pageSize: limit })) {
    workflows.push(workflowView(w));
    if (workflows.length >= limit) break;
  }
  return { temporalUi: { url: temporalUiUrl, namespace: deps.config.namespace }, workflows };
}

export async function breakerView(deps: Deps) {
  const counts = await inventoryCounts(deps.db, deps.config.heartbeatTimeoutMs, 3 * deps.config.retryAfterSeconds * 1000);
  const { massOutageShare } = await readThrottle(deps.db, deps.config);
  const nodes = Object.values(counts.nodesByState).reduce((a, b) => a + b, 0);
  const unreachableNodes = await unreachableNodeIds(deps.db, deps.config.heartbeatTimeoutMs);
  const holdUntil = await readMassOutageHold(deps.db);
  const holdingUntil = holdUntil !== null && holdUntil > Date.now() ? new Date(holdUntil).toISOString() : null;
  const open = counts.unreachable > massOutageShare * nodes || holdingUntil !== null;
  return { open, holdingUntil, unreachable: counts.unreachable, unreachableNodes, nodes, massOutageShare };
}

export async function reviewQueue(deps: Deps) {
  return { reviews: (await openReviews(deps.db)).map((r) => ({ ...r, waitingSince: r.waitingSince.toISOString() })) };
}

export async function nodeCopies(deps: Deps) {
  return { copies: await copiesByNode(deps.db) };
}
