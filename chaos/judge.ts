// The end of every scenario, single-fault or compound: settle as the customer would until the
// cluster is clean (or the bound passes), then judge the invariants over every volume of the run.
import type { ChaosCluster } from './cluster.js';
import type { HeldWrite } from './customer.js';
import { restartCollateral, sleep } from './faults.js';
import { openWorkflows, splitBrainEvidence, volumesWithoutCopies } from './invariants.js';
import type { AckedWrite } from './ledger.js';
import type { RunState, ScenarioResult } from './run.js';

/** What "clean" means for one scenario. */
export interface SettleGoal {
  /** Each node the scenario took down must have had a recovery admitted since it went down last, and finished. */
  mustRecover: { nodeId: string; since: Date }[];
  held: HeldWrite | null;
  /** No settling before this (ms since the epoch): nodes notice a healed network only at their next beats. */
  settleAfter: number;
  /** What else must hold, or what it still waits for (compound: every volume on two copies). */
  more?: () => Promise<string | null>;
}

/**
 * A workflow open this long without waiting for a customer is stuck. A younger one may have
 * started after the cluster settled (a node declared down and rejoining): a later scenario
 * judges it again.
 */
const STUCK_AFTER_MS = 30_000;

/**
 * Acts as the customer until every failed node went through a recovery and serves again, every
 * volume's I/O is enabled, no workflow runs and the held write is answered (and `goal.more`
 * holds). Returns what it still waits for after `settleMs`, or null.
 */
export async function settle(
  c: ChaosCluster,
  run: RunState,
  goal: SettleGoal,
  result: ScenarioResult,
  settleMs: number,
): Promise<string | null> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    for (const p of await restartCollateral(c.cluster)) result.notes.push(`the ${p} died on its own and was restarted`);
    await run.deciding.decide(run.ledger.volumes).catch(() => undefined); // the inventory away: asked again next pass
    const waitingFor =
      Date.now() < goal.settleAfter
        ? 'the nodes to notice the healed network'
        : await unsettled(c, goal).catch((err: Error) => `cluster not answering: ${err.message}`);
    if (!waitingFor || Date.now() > deadline) return waitingFor;
    await sleep(500);
  }
}

async function unsettled(c: ChaosCluster, goal: SettleGoal): Promise<string | null> {
  const { rows: unrecovered } = await c.db.query<{ id: string }>(
    `select id from unnest($1::text[], $2::timestamptz[]) as n(id, since) where not exists (
       select 1 from recovery_events r where r.node_id = n.id and r.admitted_at >= n.since and r.in_service_at is not null)`,
    [goal.mustRecover.map((n) => n.nodeId), goal.mustRecover.map((n) => n.since)],
  );
  if (unrecovered.length) return `no finished recovery yet for: ${unrecovered.map((n) => n.id).join(', ')}`;
  const { rows: nodes } = await c.db.query<{ id: string }>(`select id from nodes where state <> 'in-service'`);
  if (nodes.length) return `nodes not in service: ${nodes.map((n) => n.id).join(', ')}`;
  const { rows: paused } = await c.db.query<{ id: string }>(`select id from volumes where io_state <> 'enabled'`);
  if (paused.length) return `volumes with I/O held: ${paused.map((v) => v.id).join(', ')}`;
  const open = await openWorkflows(c.cluster);
  if (open.length) return `open workflows: ${open.map((w) => w.workflowId).join(', ')}`;
  if (goal.held?.outcome === 'pending') return 'the held write is unanswered';
  return (await goal.more?.()) ?? null;
}

/** The single-fault invariants, each finding counted once over the run. */
export async function judge(c: ChaosCluster, run: RunState, held: HeldWrite | null, result: ScenarioResult): Promise<void> {
  const readBack = await run.ledger.readBack(c.customer);
  result.lostAcknowledgedWrites = readBack.lost.length;
  result.unreadableWrites = readBack.unreadable.length;
  for (const w of readBack.lost) result.notes.push(`lost write: ${describeWrite(w)}`);
  for (const w of readBack.unreadable) result.notes.push(`unreadable write: ${describeWrite(w)}`);
  for (const e of [...readBack.errors].slice(0, 3)) result.notes.push(`a read failed: ${e}`);

  const gone = (await volumesWithoutCopies(c.cluster, run.ledger.volumes)).filter((v) => !run.volumesWithoutCopies.has(v));
  gone.forEach((v) => run.volumesWithoutCopies.add(v));
  result.lastCopyDeletions = gone.length;
  if (gone.length) result.notes.push(`no copy left of: ${gone.join(', ')}`);

  const open = await openWorkflows(c.cluster, c.db);
  const stuck = open.filter((w) => !w.awaitingCustomer && w.ageMs > STUCK_AFTER_MS && !run.stuck.has(w.workflowId));
  stuck.forEach((w) => run.stuck.add(w.workflowId));
  result.stuckWorkflows = stuck.length;
  if (stuck.length) result.notes.push(`stuck workflows: ${stuck.map((w) => w.workflowId).join(', ')}`);
  for (const w of open.filter((x) => x.waitsForDecided.length))
    result.notes.push(`${w.workflowId} waits for volumes already decided: ${w.waitsForDecided.join(', ')}`);

  const splitBrain = (await splitBrainEvidence(c.cluster)).filter((f) => !run.splitBrain.has(f));
  splitBrain.forEach((f) => run.splitBrain.add(f));
  result.splitBrainWrites = splitBrain.length;
  for (const f of splitBrain) result.notes.push(`split brain: ${f}`);

  if (held && held.outcome !== 'acknowledged') {
    result.heldRequestsDropped = 1;
    result.notes.push(`held write (${held.via}) ${held.outcome}${held.error ? `: ${held.error}` : ''}`);
  }
  if (held?.retries) result.notes.push(`held write re-sent ${held.retries} times after the API was killed`);
  const unanswered = run.deciding.takeUnanswered();
  if (run.redundantApis) {
    result.customerErrorsDuringCrash = (held?.retries ?? 0) + unanswered;
    if (unanswered) result.notes.push(`${unanswered} of the customer's status or enable requests got no answer from any API`);
  }
}

function describeWrite(w: AckedWrite): string {
  const how = w.via === 'nbd' ? 'through blackstart attach' : `writeSeq ${w.writeSeq}`;
  return `${w.volumeId} offset ${w.offset} length ${w.data.length} ${how} (scenario ${w.scenario})`;
}

/** After a harness error: every process running again, so the next scenario starts whole. */
export async function recoverHarness(c: ChaosCluster): Promise<void> {
  await Promise.all([...c.cluster.nodes.keys()].map((n) => c.cluster.startNode(n)));
  await restartCollateral(c.cluster);
}
