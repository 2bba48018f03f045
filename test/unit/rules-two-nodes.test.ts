// Two nodes of one volume in incidents at once (a power domain takes both): whatever the order in
// which their investigations, rejoins and resumptions commit, a volume recovery never holds one
// copy while another member copy stays outside it, so the recovery sees every copy that may hold
// the blocks it lacks (chaos seed 131207 scenario 18, in both of its forms).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyReplica, rejoinAnswer, type Verdict } from '../../common/rules/classify.js';
import { isHeldByRecovery } from '../../common/rules/incidents.js';
import type { ReplicaState } from '../../common/states.js';
import type { InventoryVolume } from '../../common/types.js';
import { scannedCopy } from '../support/inventory-fixtures.js';

type Node = 'a' | 'b';
type Stage = 'investigate' | 'act' | 'resume' | 'done';
const NODES: Node[] = ['a', 'b'];

interface Model {
  state: Record<Node, ReplicaState>;
  nodeInService: Record<Node, boolean>;
  role: Record<Node, 'primary' | 'secondary'>;
  crashed: Record<Node, boolean>;
  verdict: Partial<Record<Node, Verdict>>;
  stage: Record<Node, Stage>;
}

const other = (n: Node): Node => (n === 'a' ? 'b' : 'a');
const scanned = (role: 'primary' | 'secondary') => scannedCopy({ role });

const inventory = (m: Model): InventoryVolume => ({
  volumeId: 'v',
  deleted: false,
  epoch: 1,
  members: NODES.filter((n) => m.state[n] !== 'stale').map((n) => ({
    nodeId: n,
    role: m.role[n],
    epoch: 1,
    healthy: m.state[n] === 'in-service' && m.nodeInService[n],
    held: isHeldByRecovery(m.state[n]),
    rejoining: m.state[n] === 'in-service' && !m.nodeInService[n],
  })),
});

/** One step of node n's incident, as activities/inventory.ts and the server recovery take it. */
function advance(m: Model, n: Node): void {
  switch (m.stage[n]) {
    case 'investigate': {
      // classifies and holds its candidates in one transaction; `await-peer` fails the attempt, retried later
      const verdict = classifyReplica(n, scanned(m.role[n]), inventory(m), m.crashed[n]);
      if (verdict === 'await-peer') return;
      m.verdict[n] = verdict;
      if (verdict === 'candidate') m.state[n] = 'candidate';
      m.stage[n] = 'act';
      return;
    }
    case 'act': {
      const verdict = m.verdict[n];
      if (verdict === 'rejoin') {
        const answer = rejoinAnswer(
          n,
          NODES.map((x) => ({ nodeId: x, state: m.state[x] })),
        );
        if (answer === true) m.state[n] = 'in-service';
        if (answer === 'offer') m.state[n] = 'candidate';
      } else if (verdict === 'duplicate' && m.state[other(n)] === 'in-service' && m.nodeInService[other(n)]) {
        m.state[n] = 'stale';
        m.role[other(n)] = 'primary';
      }
      m.stage[n] = 'resume';
      return;
    }
    case 'resume':
      m.nodeInService[n] = true;
      m.stage[n] = 'done';
      return;
    case 'done':
      return;
  }
}

/** Which node takes the next step, for as long as the choices last; then each in turn until both are done. */
function run(m: Model, picks: boolean[]): void {
  for (const pickA of picks) advance(m, pickA ? 'a' : 'b');
  for (let i = 0; i < 20 && NODES.some((n) => m.stage[n] !== 'done'); i++) advance(m, NODES[i % 2]!);
  expect(m.stage).toEqual({ a: 'done', b: 'done' });
}

const start = (aCrashed: boolean, bCrashed: boolean, aPrimary: boolean): Model => ({
  state: { a: 'recovering', b: 'recovering' },
  nodeInService: { a: false, b: false },
  role: { a: aPrimary ? 'primary' : 'secondary', b: aPrimary ? 'secondary' : 'primary' },
  crashed: { a: aCrashed, b: bCrashed },
  verdict: {},
  stage: { a: 'investigate', b: 'investigate' },
});

describe('two nodes of one volume in incidents at once', () => {
  it('never holds one copy in a volume recovery while another member copy stays outside it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (picks, aCrashed, bCrashed, aPrimary) => {
          const m = start(aCrashed, bCrashed, aPrimary);
          run(m, picks);
          const members = NODES.filter((n) => m.state[n] !== 'stale');
          const held = members.filter((n) => isHeldByRecovery(m.state[n]));
          if (held.length > 0) expect(held).toEqual(members);
          expect(members.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('lets both copies of a volume rejoin when neither node crashed', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 8 }), (picks) => {
        const m = start(false, false, true);
        run(m, picks);
        expect(m.state).toEqual({ a: 'in-service', b: 'in-service' });
      }),
    );
  });
});
