// Spec: seeded chaos against the real cluster. A small fixed subset of `npm run chaos` (the full
// run is a benchmark-style command): one scenario of each node fault, between them damaged
// blocks and a kill of the API, the worker and the Temporal server mid-recovery, and writes
// issued while I/O is held. Replay one with `npm run chaos -- --seed 1 --only K`.
import { describe, expect, it } from 'vitest';
import { failed, scenariosOf } from '../../chaos/campaign.js';
import { runChaosSubset } from '../support/chaos-subset.js';

const SEED = 1;
const INDICES = [0, 1, 8, 19];

describe('chaos: random seeded faults against the real local cluster', () => {
  it('the subset covers every node fault, every mid-recovery crash, damaged blocks and held writes', () => {
    const scenarios = scenariosOf(SEED, INDICES, false);
    expect(new Set(scenarios.map((s) => s.fault))).toEqual(new Set(['primary', 'power-domain', 'both', 'secondary']));
    expect(new Set(scenarios.map((s) => s.crash?.process))).toEqual(new Set(['api', undefined, 'temporal', 'worker']));
    expect(scenarios.some((s) => s.corruption)).toBe(true);
    expect(scenarios.some((s) => s.heldWrite)).toBe(true);
  });

  it('loses no acknowledged write, deletes no last copy, leaves no workflow stuck and drops no held request', async () => {
    const report = await runChaosSubset({ seed: SEED, indices: INDICES, networkHosts: false });
    const { scenarios, completed, lostAcknowledgedWrites, lastCopyDeletions, stuckWorkflows, heldRequestsDropped, unreadableWrites } =
      report;
    expect(
      { scenarios, completed, lostAcknowledgedWrites, lastCopyDeletions, stuckWorkflows, heldRequestsDropped, unreadableWrites },
      JSON.stringify(report.results.filter(failed), null, 2),
    ).toEqual({
      scenarios: 4,
      completed: 4,
      lostAcknowledgedWrites: 0,
      lastCopyDeletions: 0,
      stuckWorkflows: 0,
      heldRequestsDropped: 0,
      unreadableWrites: 0,
    });
    console.log(`[figures] chaos seed=${SEED} ${INDICES.length} scenarios: ${report.secondsPerScenario.toFixed(1)} s per scenario`);
  }, 600_000);
});
