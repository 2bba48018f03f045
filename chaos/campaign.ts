// A chaos run: one cluster, the chosen scenarios of a seed in order, and the totals.
import { CHAOS_TIMINGS, startChaosCluster } from './cluster.js';
import { newRunState, runScenario, type ScenarioResult } from './run.js';
import { scenarioFor, type Scenario } from './scenario.js';

export interface ChaosOptions {
  seed: number;
  /** Scenario indices to run, in order: 0..N-1 for a full run, [K] to replay one. */
  indices: number[];
  adminDatabaseUrl: string;
  keepDir: boolean;
  onScenario?: (result: ScenarioResult, done: number, total: number) => void;
  progress?: (msg: string) => void;
}

export interface ChaosReport {
  seed: number;
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
  secondsPerScenario: number;
  clusterDir: string;
  failedScenarios: number[];
  results: ScenarioResult[];
}

const TIMINGS = { peerWaitMs: Number(CHAOS_TIMINGS.PEER_WAIT_MS) };

export function scenariosOf(seed: number, indices: number[]): Scenario[] {
  return indices.map((i) => scenarioFor(seed, i, TIMINGS));
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const c = await startChaosCluster({ adminDatabaseUrl: opts.adminDatabaseUrl, keepDir: opts.keepDir, progress: opts.progress });
  const results: ScenarioResult[] = [];
  try {
    const run = newRunState(c);
    for (const s of scenariosOf(opts.seed, opts.indices)) {
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
    scenarios: results.length,
    completed: results.filter((r) => r.completed).length,
    lostAcknowledgedWrites: sum('lostAcknowledgedWrites'),
    lastCopyDeletions: sum('lastCopyDeletions'),
    stuckWorkflows: sum('stuckWorkflows'),
    heldRequestsDropped: sum('heldRequestsDropped'),
    unreadableWrites: sum('unreadableWrites'),
    nbdWrites: sum('nbdWrites'),
    acknowledgedWrites: sum('acknowledgedWrites'),
    secondsPerScenario: results.length ? sum('seconds') / results.length : 0,
    clusterDir,
    failedScenarios: results.filter(failed).map((r) => r.index),
    results,
  };
}

export function failed(r: ScenarioResult): boolean {
  return !r.completed || r.lostAcknowledgedWrites + r.lastCopyDeletions + r.stuckWorkflows + r.heldRequestsDropped + r.unreadableWrites > 0;
}

export function summaryLine(r: ChaosReport): string {
  return (
    `chaos seed=${r.seed}: ${r.scenarios} scenarios, ${r.completed} completed, ${r.lostAcknowledgedWrites} lost acknowledged writes, ` +
    `${r.lastCopyDeletions} last-copy deletions, ${r.stuckWorkflows} stuck workflows, ${r.heldRequestsDropped} held requests dropped, ` +
    `${r.unreadableWrites} acknowledged writes unreadable (${r.nbdWrites} of ${r.acknowledgedWrites} acknowledged writes through blackstart attach)`
  );
}
