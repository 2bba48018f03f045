// A chaos run: one cluster, the chosen scenarios of a seed in order, and the totals.
import { temporalKind, type TemporalKind } from '../cluster/temporal-postgres.js';
import { CHAOS_TIMINGS, startChaosCluster } from './cluster.js';
import { newRunState, runScenario, type ScenarioResult } from './run.js';
import { scenarioFor, type Scenario } from './scenario.js';

export interface ChaosOptions {
  seed: number;
  /** Scenario indices to run, in order: 0..N-1 for a full run, [K] to replay one. */
  indices: number[];
  adminDatabaseUrl: string;
  keepDir: boolean;
  /** Each node on a network host of its own, and network faults among the scenarios (root only). */
  networkHosts: boolean;
  onScenario?: (result: ScenarioResult, done: number, total: number) => void;
  progress?: (msg: string) => void;
}

export interface ChaosReport {
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
  /** Acknowledged writes made by a real NBD client through `blackstart attach`, of `acknowledgedWrites`. */
  nbdWrites: number;
  acknowledgedWrites: number;
  /** Scenarios whose fault was a network fault. */
  networkFaults: number;
  splitBrainWrites: number;
  /** The longest a held write waited in a network scenario before it was acknowledged. */
  writesStalledSeconds: number;
  secondsPerScenario: number;
  clusterDir: string;
  failedScenarios: number[];
  results: ScenarioResult[];
}

export function scenariosOf(seed: number, indices: number[], networkHosts: boolean): Scenario[] {
  const timings = { peerWaitMs: Number(CHAOS_TIMINGS.PEER_WAIT_MS), networkHosts };
  return indices.map((i) => scenarioFor(seed, i, timings));
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const c = await startChaosCluster({
    adminDatabaseUrl: opts.adminDatabaseUrl,
    keepDir: opts.keepDir,
    networkHosts: opts.networkHosts,
    progress: opts.progress,
  });
  const results: ScenarioResult[] = [];
  try {
    const run = newRunState(c);
    for (const s of scenariosOf(opts.seed, opts.indices, opts.networkHosts)) {
      const result = await runScenario(c, run, s);
      results.push(result);
      opts.onScenario?.(result, results.length, opts.indices.length);
    }
  } finally {
    await c.stop();
  }
  return report(opts.seed, results, c.cluster.opts.dir);
}

function report(seed: number, results: ScenarioResult[], clusterDir: string): ChaosReport {
  const sum = (key: keyof ScenarioResult) => results.reduce((n, r) => n + (r[key] as number), 0);
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
    nbdWrites: sum('nbdWrites'),
    acknowledgedWrites: sum('acknowledgedWrites'),
    networkFaults: results.filter((r) => r.networkFault).length,
    splitBrainWrites: sum('splitBrainWrites'),
    writesStalledSeconds: Math.max(0, ...results.map((r) => r.writeStallSeconds ?? 0)),
    secondsPerScenario: results.length ? sum('seconds') / results.length : 0,
    clusterDir,
    failedScenarios: results.filter(failed).map((r) => r.index),
    results,
  };
}

export function failed(r: ScenarioResult): boolean {
  const violations = r.lostAcknowledgedWrites + r.lastCopyDeletions + r.stuckWorkflows + r.heldRequestsDropped + r.unreadableWrites;
  return !r.completed || violations + r.splitBrainWrites > 0;
}

export function summaryLine(r: ChaosReport): string {
  return (
    `chaos seed=${r.seed} (Temporal ${r.temporal}): ${r.scenarios} scenarios, ${r.completed} completed, ${r.lostAcknowledgedWrites} lost acknowledged writes, ` +
    `${r.lastCopyDeletions} last-copy deletions, ${r.stuckWorkflows} stuck workflows, ${r.heldRequestsDropped} held requests dropped, ` +
    `${r.unreadableWrites} acknowledged writes unreadable, ${r.splitBrainWrites} split-brain writes ` +
    `(${r.networkFaults} network faults, longest held write ${r.writesStalledSeconds.toFixed(1)} s; ` +
    `${r.nbdWrites} of ${r.acknowledgedWrites} acknowledged writes through blackstart attach)`
  );
}
