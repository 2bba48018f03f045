// A chaos run: one cluster, the chosen scenarios of a seed in order (single-fault, or compound
// with --compound), and the totals.
import { temporalKind, type TemporalKind } from '../cluster/temporal-postgres.js';
import { CHAOS_TIMINGS, startChaosCluster } from './cluster.js';
import { COMPOUND_SETTLE_MS, FLEET_COUNTERS, runCompoundScenario, type FleetCounters } from './compound-run.js';
import { compoundScenarioFor, type CompoundScenario } from './compound-scenario.js';
import { newRunState, runScenario, SETTLE_MS, type ScenarioResult } from './run.js';
import { scenarioFor, type Scenario } from './scenario.js';

export interface ChaosOptions {
  seed: number;
  /** Scenario indices to run, in order: 0..N-1 for a full run, [K] to replay one. */
  indices: number[];
  /** The Postgres the run's database is created on; default: an embedded PostgreSQL for the run, as `npm start` uses. */
  adminDatabaseUrl?: string;
  keepDir: boolean;
  /** Each node on a network host of its own, and network faults among the scenarios (root only). */
  networkHosts: boolean;
  /** Compound scenarios (compound-scenario.ts): 2–4 overlapping faults each, and the fleet invariants. */
  compound?: boolean;
  /** The bound on each scenario's settling (default SETTLE_MS, or COMPOUND_SETTLE_MS for compound scenarios). */
  settleMs?: number;
  /** The nodes require NBD over TLS (--nbd-tls). */
  nbdTls?: boolean;
  /** API and worker processes (--apis, --workers; default 1 each). */
  apis?: number;
  workers?: number;
  onScenario?: (result: ScenarioResult, done: number, total: number) => void;
  progress?: (msg: string) => void;
}

/** The fleet counters are judged in compound scenarios only: null in a single-fault run. */
type FleetTotals = { [K in keyof FleetCounters]: number | null };

export interface ChaosReport extends FleetTotals {
  seed: number;
  /** The Temporal server the run used (BLACKSTART_TEMPORAL): the dev server, or the server on Postgres. */
  temporal: TemporalKind;
  scenarios: number;
  completed: number;
  lostAcknowledgedWrites: number;
  lastCopyDeletions: number;
  stuckWorkflows: number;
  heldRequestsDropped: number;
  unreadableWrites: number;
  /** API and worker processes of the run's cluster. */
  apis: number;
  workers: number;
  /** With several APIs: customer requests answered with an error or not at all while an API was down; null with one API. */
  customerErrorsDuringCrash: number | null;
  /** Acknowledged writes made by a real NBD client through `blackstart attach`, of `acknowledgedWrites`. */
  nbdWrites: number;
  /** The nodes required NBD over TLS (--nbd-tls). */
  nbdTls: boolean;
  /** The attach processes' connections to nodes, by whether TLS carried them. */
  attachConnectionsOverTls: number;
  attachConnectionsPlaintext: number;
  acknowledgedWrites: number;
  /** Scenarios whose fault was a network fault. */
  networkFaults: number;
  splitBrainWrites: number;
  /** The longest a held write waited in a network scenario before it was acknowledged. */
  writesStalledSeconds: number;
  secondsPerScenario: number;
  /** Scenarios of 2–4 overlapping faults (--compound), of `scenarios`. */
  compoundScenarios: number;
  /** Their faults that landed, of those drawn (a fault whose state never arose is skipped). */
  compoundFaultsLanded: number;
  compoundFaultsDrawn: number;
  /** The bound each scenario had to settle, in ms. */
  settleMs: number;
  clusterDir: string;
  failedScenarios: number[];
  results: ScenarioResult[];
}

export function scenariosOf(seed: number, indices: number[], networkHosts: boolean): Scenario[] {
  const timings = { peerWaitMs: Number(CHAOS_TIMINGS.PEER_WAIT_MS), networkHosts };
  return indices.map((i) => scenarioFor(seed, i, timings));
}

export function compoundScenariosOf(seed: number, indices: number[], networkHosts: boolean): CompoundScenario[] {
  const timings = {
    peerWaitMs: Number(CHAOS_TIMINGS.PEER_WAIT_MS),
    heartbeatTimeoutMs: Number(CHAOS_TIMINGS.HEARTBEAT_TIMEOUT_MS),
    networkHosts,
  };
  return indices.map((i) => compoundScenarioFor(seed, i, timings));
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const c = await startChaosCluster({
    adminDatabaseUrl: opts.adminDatabaseUrl,
    keepDir: opts.keepDir,
    networkHosts: opts.networkHosts,
    nbdTls: opts.nbdTls,
    apis: opts.apis,
    workers: opts.workers,
    progress: opts.progress,
  });
  const results: ScenarioResult[] = [];
  const settleMs = opts.settleMs ?? (opts.compound ? COMPOUND_SETTLE_MS : SETTLE_MS);
  try {
    const run = newRunState(c, settleMs);
    const runs = opts.compound
      ? compoundScenariosOf(opts.seed, opts.indices, opts.networkHosts).map((s) => () => runCompoundScenario(c, run, s))
      : scenariosOf(opts.seed, opts.indices, opts.networkHosts).map((s) => () => runScenario(c, run, s));
    for (const next of runs) {
      const result = await next();
      results.push(result);
      opts.onScenario?.(result, results.length, opts.indices.length);
    }
  } finally {
    await c.stop();
  }
  const processes = { apis: c.cluster.apis.length, workers: c.cluster.workers.length };
  return report(opts.seed, results, c.cluster.opts.dir, settleMs, opts.nbdTls ?? false, processes);
}

function report(
  seed: number,
  results: ScenarioResult[],
  clusterDir: string,
  settleMs: number,
  nbdTls: boolean,
  processes: { apis: number; workers: number },
): ChaosReport {
  const sum = (key: keyof ScenarioResult) => results.reduce((n, r) => n + (r[key] as number), 0);
  const compound = results.filter((r) => r.compound);
  const fleet = Object.fromEntries(
    FLEET_COUNTERS.map((k) => [k, compound.length ? compound.reduce((n, r) => n + r.compound![k], 0) : null]),
  ) as FleetTotals;
  const faults = compound.flatMap((r) => r.compound!.faults);
  return {
    seed,
    temporal: temporalKind(),
    scenarios: results.length,
    completed: results.filter((r) => r.completed).length,
    lostAcknowledgedWrites: sum('lostAcknowledgedWrites'),
    lastCopyDeletions: sum('lastCopyDeletions'),
    stuckWorkflows: sum('stuckWorkflows'),
    heldRequestsDropped: sum('heldRequestsDropped'),
    unreadableWrites: sum('unreadableWrites'),
    ...processes,
    customerErrorsDuringCrash: processes.apis > 1 ? results.reduce((n, r) => n + (r.customerErrorsDuringCrash ?? 0), 0) : null,
    nbdWrites: sum('nbdWrites'),
    nbdTls,
    attachConnectionsOverTls: results.reduce((n, r) => n + r.attachConnections.overTls, 0),
    attachConnectionsPlaintext: results.reduce((n, r) => n + r.attachConnections.plaintext, 0),
    acknowledgedWrites: sum('acknowledgedWrites'),
    networkFaults: results.filter((r) => r.networkFault).length,
    splitBrainWrites: sum('splitBrainWrites'),
    writesStalledSeconds: Math.max(0, ...results.map((r) => r.writeStallSeconds ?? 0)),
    secondsPerScenario: results.length ? sum('seconds') / results.length : 0,
    ...fleet,
    compoundScenarios: compound.length,
    compoundFaultsLanded: faults.filter((f) => f.landed).length,
    compoundFaultsDrawn: faults.length,
    settleMs,
    clusterDir,
    failedScenarios: results.filter(failed).map((r) => r.index),
    results,
  };
}

export function failed(r: ScenarioResult): boolean {
  const violations =
    r.lostAcknowledgedWrites +
    r.lastCopyDeletions +
    r.stuckWorkflows +
    r.heldRequestsDropped +
    r.unreadableWrites +
    r.plaintextUnderTls +
    (r.customerErrorsDuringCrash ?? 0);
  const fleet = r.compound ? FLEET_COUNTERS.reduce((n, k) => n + r.compound![k], 0) : 0;
  return !r.completed || violations + r.splitBrainWrites + fleet > 0;
}

export function summaryLine(r: ChaosReport): string {
  const fleet = r.compoundScenarios
    ? `; ${r.compoundScenarios} compound (${r.compoundFaultsLanded} of ${r.compoundFaultsDrawn} faults landed): ` +
      FLEET_COUNTERS.map((k) => `${r[k]} ${k}`).join(', ')
    : '';
  return (
    `chaos seed=${r.seed} (Temporal ${r.temporal}): ${r.scenarios} scenarios, ${r.completed} completed, ${r.lostAcknowledgedWrites} lost acknowledged writes, ` +
    `${r.lastCopyDeletions} last-copy deletions, ${r.stuckWorkflows} stuck workflows, ${r.heldRequestsDropped} held requests dropped, ` +
    `${r.unreadableWrites} acknowledged writes unreadable, ${r.splitBrainWrites} split-brain writes, ` +
    `${r.customerErrorsDuringCrash === null ? '' : `${r.customerErrorsDuringCrash} customer errors during crash (${r.apis} APIs, ${r.workers} workers), `}` +
    `(${r.networkFaults} network faults, longest held write ${r.writesStalledSeconds.toFixed(1)} s; ` +
    `${r.nbdWrites} of ${r.acknowledgedWrites} acknowledged writes through blackstart attach` +
    `${r.nbdTls ? `, ${r.attachConnectionsOverTls} attach connections to nodes over TLS and ${r.attachConnectionsPlaintext} without` : ''})${fleet}`
  );
}
