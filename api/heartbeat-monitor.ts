// Declares silent nodes down and starts their failover workflow, unless one answers a probe as
// itself, serving or with its recovery report on the way (its heartbeats were late, not its node).
// The workflow is started before the node is marked down, so a crash in between only repeats a
// start that is refused.
// With several API processes only the holder of the `heartbeatMonitor` lease checks; two checking
// at once (a lease lost between its checks) would start nothing twice, for the same reason.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, nodeFailoverId, StorageNodeKey } from '../common/messages.js';
import { logger } from '../common/log.js';
import { holdsFailover, keepsFromFailover, probeVerdict, type ProbeVerdict } from '../common/rules/failover.js';
import { nodeFailover, type NodeFailoverInput } from '../workflows/node-failover.js';
import { breakerHolds } from './mass-outage.js';
import type { Lease } from './repositories/leases.js';
import { findSilentNodes, listNodes, markNodeDown, noteAnsweredProbes, type NodeRow } from './repositories/nodes.js';
import { readThrottle } from './repositories/settings.js';
import type { Deps } from './use-cases/deps.js';

/** A probe of a silent node waits this long for its answer: more is the silence it was asked about. */
const PROBE_TIMEOUT_MS = 1000;

export function startHeartbeatMonitor(deps: Deps, lease: Pick<Lease, 'held' | 'since'>): () => void {
  let running = false;
  const breaker = { open: false };
  const timer = setInterval(() => {
    // Once the lease is taken (at start-up, or from an API that died) heartbeats may look old
    // (they went to an API that was down): give the nodes one timeout to be heard.
    if (running || !lease.held || Date.now() < lease.since! + deps.config.heartbeatTimeoutMs) return;
    running = true;
    checkOnce(deps, breaker)
      .catch((err: Error) => logger({ component: 'heartbeat-monitor' }).error({ err }, 'heartbeat monitor: check failed'))
      .finally(() => (running = false));
  }, deps.config.monitorIntervalMs);
  return () => clearInterval(timer);
}

interface Unanswered {
  node: NodeRow;
  verdict: ProbeVerdict;
  /** Why there was no answer (a timeout, a refused connection), or the answer's boot. */
  detail: string;
  probeMs: number;
}

/** One probe: its answer or its error, and how long it took. */
async function probe(deps: Deps, node: NodeRow) {
  const started = Date.now();
  try {
    const health = await deps.nodes.at(node, { timeoutMs: PROBE_TIMEOUT_MS }).health();
    return { health, error: null, probeMs: Date.now() - started };
  } catch (err) {
    return { health: null, error: err as Error, probeMs: Date.now() - started };
  }
}

/**
 * The silent nodes that do not answer a probe as themselves (`probeVerdict`), with what each
 * answered; those that do are noted as heard of, and logged. Probed side by side, each for at
 * most PROBE_TIMEOUT_MS.
 */
async function unanswered(deps: Deps, silent: NodeRow[]): Promise<Unanswered[]> {
  const probes = await Promise.all(silent.map((node) => probe(deps, node)));
  const kept: { node: NodeRow; verdict: ProbeVerdict; bootId: string }[] = [];
  const failed: Unanswered[] = [];
  silent.forEach((node, i) => {
    const { health, error, probeMs } = probes[i]!;
    const verdict = probeVerdict(node, health);
    if (keepsFromFailover(verdict)) return kept.push({ node, verdict, bootId: health!.bootId });
    const detail = error ? `${error.name}: ${error.message}` : `answered as ${health!.nodeId}, boot ${health!.bootId}`;
    failed.push({ node, verdict, detail, probeMs });
  });
  await noteAnsweredProbes(
    deps.db,
    kept.map((k) => k.node),
  );
  for (const { node, verdict, bootId } of kept)
    logger({ component: 'heartbeat-monitor', nodeId: node.id }).info(
      { probe: verdict, restarted: bootId !== node.bootId },
      `node ${node.id} missed its heartbeats but answered a probe as itself (${verdict}): not failed over`,
    );
  return failed;
}

/** Logs the breaker's trips and ends, once each. */
function noteBreaker(breaker: { open: boolean }, holding: boolean, unreachable: number, total: number): void {
  if (holding === breaker.open) return;
  breaker.open = holding;
  const log = logger({ component: 'heartbeat-monitor' });
  if (holding)
    log.warn({ unreachable, total }, `mass outage: ${unreachable} of ${total} nodes unreachable; holding failover until they report`);
  else log.info('mass outage over: failover resumes');
}

/** Fails over the silent nodes, unless the mass-outage breaker (`holdsFailover`) holds. */
export async function checkOnce(deps: Deps, breaker: { open: boolean }): Promise<void> {
  const silent = await findSilentNodes(deps.db, deps.config.heartbeatTimeoutMs);
  if (silent.length === 0) {
    // Every node heard from: the outage is over once its hold-down ends (logged once, as it trips).
    if (breaker.open) noteBreaker(breaker, await breakerHolds(deps, false), 0, 0);
    return;
  }
  // Nodes that lose power together time out a beat apart: count those half-way there too,
  // so the first few to time out are not failed over before the outage shows its size.
  const suspects = await findSilentNodes(deps.db, deps.config.heartbeatTimeoutMs / 2);
  const nodes = await listNodes(deps.db);
  const down = nodes.filter((n) => n.state === 'down').length;
  const { massOutageShare } = await readThrottle(deps.db, deps.config);
  const holding = await breakerHolds(deps, holdsFailover({ suspects: suspects.length, down, total: nodes.length }, massOutageShare));
  noteBreaker(breaker, holding, suspects.length + down, nodes.length);
  if (holding) return;
  for (const { node, verdict, detail, probeMs } of await unanswered(deps, silent)) {
    const incident = node.incident + 1;
    const args: NodeFailoverInput = { nodeId: node.id, incident };
    try {
      await deps.temporal.workflow.start(nodeFailover, {
        workflowId: nodeFailoverId(node.id, incident),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [args],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Failover of ${node.id}, incident ${incident}: heartbeats silent; peers promoted at epoch+1`,
        typedSearchAttributes: [{ key: StorageNodeKey, value: node.id }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    await markNodeDown(deps.db, node.id, incident);
    logger({ component: 'heartbeat-monitor', nodeId: node.id, workflowId: nodeFailoverId(node.id, incident) }).warn(
      { incident, probe: verdict, probeDetail: detail, probeMs, lastHeartbeat: node.lastHeartbeat.toISOString() },
      `node ${node.id} missed its heartbeats and its probe found it ${verdict}: down (incident ${incident}), failover started`,
    );
  }
}
