// Two nodes of one volume in incidents at once (a power domain takes both): whatever the order in
// which their investigations and rejoins commit, a copy never rejoins beside a copy a volume
// recovery holds, so the recovery sees every copy that may hold the blocks it lacks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyReplica, rejoinAnswer } from '../../common/rules/classify.js';
import { isHeldByRecovery } from '../../common/rules/incidents.js';
import type { ReplicaState } from '../../common/states.js';
import type { Classification, InventoryVolume, ScannedReplica } from '../../common/types.js';

type Node = 'a' | 'b';
type Step = 'investigate-a' | 'investigate-b' | 'act-a' | 'act-b';

interface Model {
  state: Record<Node, ReplicaState>;
  role: Record<Node, 'primary' | 'secondary'>;
  crashed: Record<Node, boolean>;
  verdict: Partial<Record<Node, Classification>>;
}

const other = (n: Node): Node => (n === 'a' ? 'b' : 'a');
const scanned = (role: 'primary' | 'secondary'): ScannedReplica => ({
  volumeId: 'v',
  sizeBytes: 4096,
  role,
  epoch: 1,
  writeSeq: 9,
  badBlocks: [],
  dirtyBadBlocks: [],
  digest: 'd',
  baseSnapshotId: null,
  rebuilding: false,
});

const inventory = (m: Model): InventoryVolume => ({
  volumeId: 'v',
  deleted: false,
  epoch: 1,
  members: (['a', 'b'] as const)
    .filter((n) => m.state[n] !== 'stale')
    .map((n) => ({ nodeId: n, role: m.role[n], epoch: 1, healthy: m.state[n] === 'in-service', held: isHeldByRecovery(m.state[n]) })),
});

/** The investigation classifies and holds its candidates in one transaction (activities/inventory.ts). */
function investigate(m: Model, n: Node): void {
  const verdict = classifyReplica(n, scanned(m.role[n]), inventory(m), m.crashed[n]);
  m.verdict[n] = verdict;
  if (verdict === 'candidate') m.state[n] = 'candidate';
}

/** The server recovery acts on the verdict: a rejoin re-checks under the lock; a duplicate fails over. */
function act(m: Model, n: Node): void {
  const verdict = m.verdict[n];
  if (verdict === 'rejoin') {
    const answer = rejoinAnswer(
      n,
      (['a', 'b'] as const).map((x) => ({ nodeId: x, state: m.state[x] })),
    );
    if (answer === true) m.state[n] = 'in-service';
    if (answer === 'offer') m.state[n] = 'candidate';
  } else if (verdict === 'duplicate' && m.state[other(n)] === 'in-service') {
    m.state[n] = 'stale';
    m.role[other(n)] = 'primary';
  }
}

/** Each node's investigation comes before its own act; the two nodes interleave freely. */
const arbOrder = fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean()).map(([aFirst, bFirst, x, y]) => {
  const a: Step[] = ['investigate-a', 'act-a'];
  const b: Step[] = ['investigate-b', 'act-b'];
  const picks = [aFirst, bFirst, x, y];
  const order: Step[] = [];
  while (a.length + b.length > 0) order.push((b.length === 0 || (a.length > 0 && picks.shift() !== false) ? a : b).shift()!);
  return order;
});

describe('two nodes of one volume in incidents at once', () => {
  it('never rejoins a copy beside a held one, and offers both copies when one is held', () => {
    fc.assert(
      fc.property(arbOrder, fc.boolean(), fc.boolean(), fc.boolean(), (order, aCrashed, bCrashed, aPrimary) => {
        const m: Model = {
          state: { a: 'recovering', b: 'recovering' },
          role: { a: aPrimary ? 'primary' : 'secondary', b: aPrimary ? 'secondary' : 'primary' },
          crashed: { a: aCrashed, b: bCrashed },
          verdict: {},
        };
        for (const step of order) (step.startsWith('investigate') ? investigate : act)(m, step.endsWith('a') ? 'a' : 'b');
        const held = (['a', 'b'] as const).filter((n) => isHeldByRecovery(m.state[n]));
        if (held.length > 0) expect(held.length + (['a', 'b'] as const).filter((n) => m.state[n] === 'stale').length).toBe(2);
        expect((['a', 'b'] as const).some((n) => m.state[n] !== 'stale')).toBe(true);
      }),
    );
  });

  it('lets both copies of a volume rejoin when neither node crashed', () => {
    fc.assert(
      fc.property(arbOrder, (order) => {
        const m: Model = {
          state: { a: 'recovering', b: 'recovering' },
          role: { a: 'primary', b: 'secondary' },
          crashed: { a: false, b: false },
          verdict: {},
        };
        for (const step of order) (step.startsWith('investigate') ? investigate : act)(m, step.endsWith('a') ? 'a' : 'b');
        expect(m.state).toEqual({ a: 'in-service', b: 'in-service' });
      }),
    );
  });
});
