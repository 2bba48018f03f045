// Runs scenarios one after another against one cluster: write and record, fault, return,
// settle as the customer would, then judge the invariants over every volume of the run so far.
// (Compound scenarios: compound-run.ts; settling and judging: judge.ts.)
import { ScenarioAttachments } from './attach.js';
import type { ChaosCluster } from './cluster.js';
import { createAndWrite, DecidingCustomer, HeldWrite } from './customer.js';
import { CHAOS_TIMINGS } from './cluster.js';
import type { CompoundResult } from './compound-run.js';
import { copiesByRole, type Copies, crashMidRecovery, damageBlock, nodesToFail, returnNodes } from './faults.js';
import { judge, recoverHarness, settle } from './judge.js';
import { inflictNetworkFault, nodesReached } from './network.js';
import { Ledger } from './ledger.js';
import { LogCursor } from './process-logs.js';
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
  /**
   * With several APIs: the customer's and attach's requests answered with an error, or not at
   * all, while an API process was down (each should have been held or retried on another API).
   * Null with one API, where a killed API must be waited out.
   */
  customerErrorsDuringCrash: number | null;
  /** Acknowledged writes of this scenario made by qemu-io through `blackstart attach` (held write included). */
  nbdWrites: number;
  /** The scenario's attach processes' connections to nodes, by whether TLS carried them. */
  attachConnections: { overTls: number; plaintext: number };
  /** With --nbd-tls: connections to a node made without TLS (0 unless something let plaintext through). */
  plaintextUnderTls: number;
  /** The fault was a network fault (nodes stayed up). */
  networkFault: boolean;
  /** Ack lines of a copy at an older epoch while another copy acknowledged at a newer one (chaos/split-brain.ts). */
  splitBrainWrites: number;
  /** How long the held write waited before it was acknowledged, in a network scenario; null otherwise. */
  writeStallSeconds: number | null;
  acknowledgedWrites: number;
  /** A compound scenario's faults as they landed and its fleet counters; null for a single-fault scenario. */
  compound: CompoundResult | null;
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
  /** Compound runs: each fleet finding's key, once over the run (fleet-invariants.ts). */
  findings: Set<string>;
  /** Compound runs: each volume's fingerprint at its last clean scrub. */
  scrubbed: Map<string, string>;
  /** Compound runs: probe writes made to each volume, and its epoch at the last one. */
  probes: Map<string, { count: number; epoch: number }>;
  logs: LogCursor;
  /** How long a scenario may take to settle (`--settle-ms`). */
  settleMs: number;
  /** The nodes require NBD over TLS (--nbd-tls): every attach connection must use it. */
  nbdTls: boolean;
  /** Several API processes: the customer must see no error while one is down (customerErrorsDuringCrash). */
  redundantApis: boolean;
}

/** The single-fault default bound on settling; compound scenarios have their own (compound-run.ts). */
export const SETTLE_MS = 90_000;

export function newRunState(c: ChaosCluster, settleMs = SETTLE_MS): RunState {
  return {
    ledger: new Ledger(),
    deciding: new DecidingCustomer(c.customer, c.db),
    volumesWithoutCopies: new Set(),
    stuck: new Set(),
    splitBrain: new Set(),
    findings: new Set(),
    scrubbed: new Map(),
    probes: new Map(),
    logs: new LogCursor(c.cluster.logDir),
    settleMs,
    nbdTls: c.cluster.nbdCerts !== null,
    redundantApis: c.cluster.apis.length > 1,
  };
}

export function newResult(index: number, scenario: string, networkFault: boolean): ScenarioResult {
  return {
    index,
    scenario,
    completed: false,
    seconds: 0,
    failedNodes: [],
    volumes: [],
    lostAcknowledgedWrites: 0,
    unreadableWrites: 0,
    lastCopyDeletions: 0,
    stuckWorkflows: 0,
    heldRequestsDropped: 0,
    customerErrorsDuringCrash: null,
    nbdWrites: 0,
    attachConnections: { overTls: 0, plaintext: 0 },
    plaintextUnderTls: 0,
    networkFault,
    splitBrainWrites: 0,
    writeStallSeconds: null,
    acknowledgedWrites: 0,
    compound: null,
    notes: [],
  };
}

/** The scenario's own writes and its time. */
export function finishResult(run: RunState, result: ScenarioResult, started: number): ScenarioResult {
  const mine = run.ledger.writes.filter((w) => w.scenario === result.index);
  result.acknowledgedWrites = mine.length;
  result.nbdWrites = mine.filter((w) => w.via === 'nbd').length;
  result.plaintextUnderTls = run.nbdTls ? result.attachConnections.plaintext : 0;
  if (result.plaintextUnderTls)
    result.notes.push(`${result.plaintextUnderTls} attach connections to nodes without TLS, though the nodes require it`);
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

export async function runScenario(c: ChaosCluster, run: RunState, s: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const result = newResult(s.index, describeScenario(s), s.network !== null);
  const attachments = new ScenarioAttachments(c.cluster.apiUrls.join(','), c.customer.token, c.cluster.nbdCerts?.ca);
  try {
    const fault = await inflict(c, run, attachments, s, result);
    const goal = {
      mustRecover: fault.mustRecover.map((nodeId) => ({ nodeId, since: fault.at })),
      held: fault.held,
      settleAfter: fault.settleAfter,
    };
    const waitingFor = await settle(c, run, goal, result, run.settleMs);
    if (waitingFor) result.notes.push(`not settled after ${run.settleMs / 1000} s: ${waitingFor}`);
    await judge(c, run, fault.held, result);
    if (s.network) result.writeStallSeconds = fault.held?.waitedSeconds ?? null;
    result.completed = !waitingFor;
    if (!result.completed || fault.held?.outcome === 'dropped') result.notes.push(...attachments.logs().map((l) => `attach ${l}`));
  } catch (err) {
    result.notes.push(`harness error: ${(err as Error).stack ?? err}`);
    await recoverHarness(c).catch((e: Error) => result.notes.push(`could not restore the cluster: ${e.message}`));
  } finally {
    await attachments.stopAll();
    result.attachConnections = attachments.connections;
  }
  return finishResult(run, result, started);
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
  const held = s.heldWrite ? new HeldWrite(c.customer, attachments, run.ledger, heldRef(s), target, s.heldWrite) : null;
  held?.start();
  await Promise.all([
    returnNodes(c.cluster, failed, s.returnDelaysMs),
    s.crash ? crashMidRecovery(c.cluster, s.crash, s.index) : undefined,
  ]);
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
  const held = s.heldWrite ? new HeldWrite(c.customer, attachments, run.ledger, heldRef(s), result.volumes[0]!, s.heldWrite) : null;
  const inForce = inflictNetworkFault(c.cluster, s.network!, copies);
  held?.start();
  await Promise.all([inForce, s.crash ? crashMidRecovery(c.cluster, s.crash, s.index) : undefined]);
  return { nodes, mustRecover: [], at, held, settleAfter: Date.now() + NETWORK_SETTLE_MIN_MS };
}

function heldRef(s: Scenario) {
  return { seed: s.seed, index: s.index, apiMayBeKilled: s.crash?.process === 'api' };
}
