// Runs scenarios one after another against one cluster: write and record, fault, return,
// settle as the customer would, then judge the invariants over every volume of the run so far.
import { ScenarioAttachments } from './attach.js';
import type { ChaosCluster } from './cluster.js';
import { createAndWrite, DecidingCustomer, HeldWrite } from './customer.js';
import { CHAOS_TIMINGS } from './cluster.js';
import { copiesByRole, type Copies, crashMidRecovery, damageBlock, nodesToFail, restartCollateral, returnNodes, sleep } from './faults.js';
import { openWorkflows, splitBrainEvidence, volumesWithoutCopies } from './invariants.js';
import { inflictNetworkFault, nodesReached } from './network.js';
import { Ledger, type AckedWrite } from './ledger.js';
import { Prng } from './prng.js';
import { describeScenario, type Scenario } from './scenario.js';

export interface ScenarioResult {
  index: number;
  scenario: string;
  completed: boolean;
  seconds: number;
  failedNodes: string[];
  volumes: string[];
  lostAcknowledgedWrites: number;
  unreadableWrites: number;
  lastCopyDeletions: number;
  stuckWorkflows: number;
  heldRequestsDropped: number;
  /** Acknowledged writes of this scenario made by qemu-io through `blackstart attach` (held write included). */
  nbdWrites: number;
  /** The fault was a network fault (nodes stayed up). */
  networkFault: boolean;
  /** Ack lines of a copy at an older epoch while another copy acknowledged at a newer one (chaos/split-brain.ts). */
  splitBrainWrites: number;
  /** How long the held write waited before it was acknowledged, in a network scenario; null otherwise. */
  writeStallSeconds: number | null;
  acknowledgedWrites: number;
  /** What went wrong, for the diagnosis: lost writes, stuck workflow ids, errors. */
  notes: string[];
}

export interface RunState {
  ledger: Ledger;
  deciding: DecidingCustomer;
  /** Reported once over the run, in the scenario that first showed them. */
  volumesWithoutCopies: Set<string>;
  stuck: Set<string>;
  splitBrain: Set<string>;
}

const SETTLE_MS = 90_000;
/**
 * A workflow open this long without waiting for a customer is stuck. A younger one may have
 * started after the cluster settled (a node declared down and rejoining): a later scenario
 * judges it again.
 */
const STUCK_AFTER_MS = 30_000;

export function newRunState(c: ChaosCluster): RunState {
  return {
    ledger: new Ledger(),
    deciding: new DecidingCustomer(c.customer),
    volumesWithoutCopies: new Set(),
    stuck: new Set(),
    splitBrain: new Set(),
  };
}

export async function runScenario(c: ChaosCluster, run: RunState, s: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const result: ScenarioResult = {
    index: s.index,
    scenario: describeScenario(s),
    completed: false,
    seconds: 0,
    failedNodes: [],
    volumes: [],
    lostAcknowledgedWrites: 0,
    unreadableWrites: 0,
    lastCopyDeletions: 0,
    stuckWorkflows: 0,
    heldRequestsDropped: 0,
    nbdWrites: 0,
    networkFault: s.network !== null,
    splitBrainWrites: 0,
    writeStallSeconds: null,
    acknowledgedWrites: 0,
    notes: [],
  };
  const attachments = new ScenarioAttachments(c.cluster.apiUrl, c.customer.token);
  try {
    const fault = await inflict(c, run, attachments, s, result);
    const waitingFor = await settle(c, run, fault, result);
    if (waitingFor) result.notes.push(`not settled after ${SETTLE_MS / 1000} s: ${waitingFor}`);
    await judge(c, run, fault.held, result);
    if (s.network) result.writeStallSeconds = fault.held?.waitedSeconds ?? null;
    result.completed = !waitingFor;
    if (!result.completed || fault.held?.outcome === 'dropped') result.notes.push(...attachments.logs().map((l) => `attach ${l}`));
  } catch (err) {
    result.notes.push(`harness error: ${(err as Error).stack ?? err}`);
    await recoverHarness(c).catch((e: Error) => result.notes.push(`could not restore the cluster: ${e.message}`));
  } finally {
    await attachments.stopAll();
  }
  const mine = run.ledger.writes.filter((w) => w.scenario === s.index);
  result.acknowledgedWrites = mine.length;
  result.nbdWrites = mine.filter((w) => w.via === 'nbd').length;
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

interface Fault {
  nodes: string[];
  /** The nodes that must have gone through a recovery since `at` (a network fault may need none). */
  mustRecover: string[];
  at: Date;
  held: HeldWrite | null;
  /** No settling before this (ms since the epoch): nodes notice a healed network only at their next beats. */
  settleAfter: number;
}

/** Past a healed network fault: the nodes' next heartbeats, the control plane's timeout, and a report. */
const NETWORK_SETTLE_MIN_MS = 2 * Number(CHAOS_TIMINGS.HEARTBEAT_TIMEOUT_MS) + 1000;

/** Writes, records, takes the nodes down, damages a down copy, then brings everything back. */
async function inflict(
  c: ChaosCluster,
  run: RunState,
  attachments: ScenarioAttachments,
  s: Scenario,
  result: ScenarioResult,
): Promise<Fault> {
  result.volumes = await createAndWrite(c.customer, attachments, run.ledger, s);
  const target = result.volumes[0]!;
  const copies = await copiesByRole(c, target);
  if (s.network) return inflictOnNetwork(c, run, attachments, s, result, copies);
  const failed = nodesToFail(c.cluster, s, copies);
  result.failedNodes = failed;
  const at = new Date();
  await Promise.all(failed.map((n) => c.cluster.killNode(n)));
  if (s.corruption) await damageBlock(c.cluster, copies[s.corruption.copy], target, s.corruption, Prng.of(s.seed, s.index, 0xdead));
  const held = s.heldWrite ? new HeldWrite(c.customer, attachments, run.ledger, s, target, s.heldWrite) : null;
  held?.start();
  await Promise.all([returnNodes(c.cluster, failed, s.returnDelaysMs), s.crash ? crashMidRecovery(c.cluster, s.crash) : undefined]);
  return { nodes: failed, mustRecover: failed, at, held, settleAfter: 0 };
}

/** The network fault in force for its time, the held write issued under it, a process crash meanwhile. */
async function inflictOnNetwork(
  c: ChaosCluster,
  run: RunState,
  attachments: ScenarioAttachments,
  s: Scenario,
  result: ScenarioResult,
  copies: Copies,
): Promise<Fault> {
  const nodes = nodesReached(c.cluster, s.network!, copies);
  result.failedNodes = nodes;
  const at = new Date();
  const held = s.heldWrite ? new HeldWrite(c.customer, attachments, run.ledger, s, result.volumes[0]!, s.heldWrite) : null;
  const inForce = inflictNetworkFault(c.cluster, s.network!, copies);
  held?.start();
  await Promise.all([inForce, s.crash ? crashMidRecovery(c.cluster, s.crash) : undefined]);
  return { nodes, mustRecover: [], at, held, settleAfter: Date.now() + NETWORK_SETTLE_MIN_MS };
}

/**
 * Acts as the customer until every failed node went through a recovery and serves again, every
 * volume's I/O is enabled, no workflow runs and the held write is answered. Returns what it
 * still waits for at the deadline, or null.
 */
async function settle(c: ChaosCluster, run: RunState, fault: Fault, result: ScenarioResult): Promise<string | null> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    for (const p of await restartCollateral(c.cluster)) result.notes.push(`the ${p} died on its own and was restarted`);
    await run.deciding.decide(run.ledger.volumes);
    const waitingFor =
      Date.now() < fault.settleAfter
        ? 'the nodes to notice the healed network'
        : await unsettled(c, fault).catch((err: Error) => `cluster not answering: ${err.message}`);
    if (!waitingFor || Date.now() > deadline) return waitingFor;
    await sleep(500);
  }
}

async function unsettled(c: ChaosCluster, fault: Fault): Promise<string | null> {
  const { rows: unrecovered } = await c.db.query<{ id: string }>(
    `select id from unnest($1::text[]) as n(id) where not exists (
       select 1 from recovery_events r where r.node_id = n.id and r.admitted_at >= $2 and r.in_service_at is not null)`,
    [fault.mustRecover, fault.at],
  );
  if (unrecovered.length) return `no finished recovery yet for: ${unrecovered.map((n) => n.id).join(', ')}`;
  const { rows: nodes } = await c.db.query<{ id: string }>(`select id from nodes where state <> 'in-service'`);
  if (nodes.length) return `nodes not in service: ${nodes.map((n) => n.id).join(', ')}`;
  const { rows: paused } = await c.db.query<{ id: string }>(`select id from volumes where io_state <> 'enabled'`);
  if (paused.length) return `volumes with I/O held: ${paused.map((v) => v.id).join(', ')}`;
  const open = await openWorkflows(c.cluster);
  if (open.length) return `open workflows: ${open.map((w) => w.workflowId).join(', ')}`;
  if (fault.held?.outcome === 'pending') return 'the held write is unanswered';
  return null;
}

async function judge(c: ChaosCluster, run: RunState, held: HeldWrite | null, result: ScenarioResult): Promise<void> {
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

  const stuck = (await openWorkflows(c.cluster)).filter(
    (w) => !w.awaitingCustomer && w.ageMs > STUCK_AFTER_MS && !run.stuck.has(w.workflowId),
  );
  stuck.forEach((w) => run.stuck.add(w.workflowId));
  result.stuckWorkflows = stuck.length;
  if (stuck.length) result.notes.push(`stuck workflows: ${stuck.map((w) => w.workflowId).join(', ')}`);

  const splitBrain = (await splitBrainEvidence(c.cluster)).filter((f) => !run.splitBrain.has(f));
  splitBrain.forEach((f) => run.splitBrain.add(f));
  result.splitBrainWrites = splitBrain.length;
  for (const f of splitBrain) result.notes.push(`split brain: ${f}`);

  if (held && held.outcome !== 'acknowledged') {
    result.heldRequestsDropped = 1;
    result.notes.push(`held write (${held.via}) ${held.outcome}${held.error ? `: ${held.error}` : ''}`);
  }
  if (held?.retries) result.notes.push(`held write re-sent ${held.retries} times after the API was killed`);
}

function describeWrite(w: AckedWrite): string {
  const how = w.via === 'nbd' ? 'through blackstart attach' : `writeSeq ${w.writeSeq}`;
  return `${w.volumeId} offset ${w.offset} length ${w.data.length} ${how} (scenario ${w.scenario})`;
}

/** After a harness error: every process running again, so the next scenario starts whole. */
async function recoverHarness(c: ChaosCluster): Promise<void> {
  await Promise.all([...c.cluster.nodes.keys()].map((n) => c.cluster.startNode(n)));
  await restartCollateral(c.cluster);
}
