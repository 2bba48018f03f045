// Spec: compound chaos against the real cluster. A small fixed subset of `npm run chaos --
// --compound` (2–4 overlapping faults a scenario, each landing when the state it waits for is
// seen): a power flicker of the whole DC failing again during its recovery, a restore target
// failing mid-restore, a second incident of a node still in configuration, the holder of a
// restored copy failing while its volume awaits the owner, a rebuild target and a new primary
// failing, and the API, worker and Temporal killed in between. Each scenario waits until the
// cluster is clean, then every counter must be 0. Replay one with
// `npm run chaos -- --compound --seed 1 --only K --loopback`.
import { describe, expect, it } from 'vitest';
import { compoundScenariosOf, failed } from '../../chaos/campaign.js';
import { runChaosSubset } from '../support/chaos-subset.js';

const SEED = 1;
const INDICES = [2, 1, 6, 18];

describe('compound chaos: overlapping faults against the real local cluster', () => {
  it('the subset covers a DC flicker, every fault that waits for a state, and a kill of each control-plane process', () => {
    const scenarios = compoundScenariosOf(SEED, INDICES, false);
    const kinds = new Set(scenarios.flatMap((s) => s.faults.map((f) => f.kind)));
    for (const k of ['flicker', 'outage', 'restore-target', 'restored-holder', 'second-incident', 'rebuild-target', 'new-primary'])
      expect(kinds).toContain(k);
    expect(scenarios.some((s) => s.faults[0]!.kind === 'flicker' && s.faults[0]!.scope === 'dc')).toBe(true);
    const crashed = scenarios.flatMap((s) => s.faults.flatMap((f) => (f.kind === 'process-crash' ? [f.crash.process] : [])));
    expect(new Set(crashed)).toEqual(new Set(['api', 'worker', 'temporal']));
  });

  it('ends every scenario clean: no write lost, every volume on two agreeing in-service copies, every node in service, nothing held, stuck or failing', async () => {
    const report = await runChaosSubset({ seed: SEED, indices: INDICES, networkHosts: false, compound: true });
    const counters = {
      scenarios: report.scenarios,
      completed: report.completed,
      compoundScenarios: report.compoundScenarios,
      lostAcknowledgedWrites: report.lostAcknowledgedWrites,
      lastCopyDeletions: report.lastCopyDeletions,
      stuckWorkflows: report.stuckWorkflows,
      heldRequestsDropped: report.heldRequestsDropped,
      unreadableWrites: report.unreadableWrites,
      splitBrainWrites: report.splitBrainWrites,
      underReplicatedVolumes: report.underReplicatedVolumes,
      divergentReplicas: report.divergentReplicas,
      nodesNotInService: report.nodesNotInService,
      enabledButHeld: report.enabledButHeld,
      serverErrors: report.serverErrors,
      databaseErrors: report.databaseErrors,
    };
    expect(counters, JSON.stringify(report.results.filter(failed), null, 2)).toEqual({
      scenarios: 4,
      completed: 4,
      compoundScenarios: 4,
      lostAcknowledgedWrites: 0,
      lastCopyDeletions: 0,
      stuckWorkflows: 0,
      heldRequestsDropped: 0,
      unreadableWrites: 0,
      splitBrainWrites: 0,
      underReplicatedVolumes: 0,
      divergentReplicas: 0,
      nodesNotInService: 0,
      enabledButHeld: 0,
      serverErrors: 0,
      databaseErrors: 0,
    });
    // Every scenario's first fault takes nodes down at once; the later ones land when their state is seen.
    for (const r of report.results) expect(r.compound!.faults[0]!.landed, r.scenario).toBe(true);
    console.log(
      `[figures] compound chaos seed=${SEED} ${INDICES.length} scenarios: ${report.compoundFaultsLanded} of ` +
        `${report.compoundFaultsDrawn} faults landed, ${report.secondsPerScenario.toFixed(1)} s per scenario`,
    );
  }, 1_200_000);
});
