// Spec: seeded chaos with the nodes on network hosts of their own. A fixed subset of a network
// run (`npm run chaos` as root): a router cut off while the API is killed, a flapping link, a
// primary cut from its secondary only (it asks to serve alone), a primary cut from everything,
// and one cut from the control plane only. Replay one with `npm run chaos -- --seed 3 --only K`.
import { describe, expect, it } from 'vitest';
import { failed, scenariosOf } from '../../chaos/campaign.js';
import { runChaosSubset } from '../support/chaos-subset.js';

const SEED = 3;
const INDICES = [1, 2, 9, 10, 25];

describe('chaos on network hosts: partitions, flapping links and a router cut off', () => {
  it('the subset covers a router, a flapping link and a copy cut from its peers, from everything and from the control plane', () => {
    const kinds = scenariosOf(SEED, INDICES, true).map((s) => s.network && `${s.network.kind}/${s.network.role}`);
    expect(kinds).toEqual([
      'router/secondary',
      'flap/secondary',
      'cut-peers/primary',
      'cut-everything/primary',
      'cut-control-plane/primary',
    ]);
  });

  it('loses no acknowledged write, lets no two copies acknowledge at different epochs, and answers every held write', async () => {
    const report = await runChaosSubset({ seed: SEED, indices: INDICES, networkHosts: true });
    const { scenarios, completed, networkFaults, lostAcknowledgedWrites, lastCopyDeletions, stuckWorkflows, heldRequestsDropped } = report;
    const { unreadableWrites, splitBrainWrites } = report;
    expect(
      {
        scenarios,
        completed,
        networkFaults,
        lostAcknowledgedWrites,
        lastCopyDeletions,
        stuckWorkflows,
        heldRequestsDropped,
        unreadableWrites,
        splitBrainWrites,
      },
      JSON.stringify(report.results.filter(failed), null, 2),
    ).toEqual({
      scenarios: 5,
      completed: 5,
      networkFaults: 5,
      lostAcknowledgedWrites: 0,
      lastCopyDeletions: 0,
      stuckWorkflows: 0,
      heldRequestsDropped: 0,
      unreadableWrites: 0,
      splitBrainWrites: 0,
    });
    console.log(
      `[figures] chaos on network hosts seed=${SEED} ${INDICES.length} scenarios: ${report.secondsPerScenario.toFixed(1)} s per scenario, ` +
        `longest held write ${report.writesStalledSeconds.toFixed(1)} s`,
    );
  }, 600_000);
});
