// The pure recovery rules, stated as properties over generated fleets and copies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyReplica } from '../../common/rules/classify.js';
import { mayDeleteCopy } from '../../common/rules/deletion.js';
import { allPeersReported, compareAuthority, electAuthoritative, supersedes } from '../../common/rules/elect.js';
import { planRepairs } from '../../common/rules/merge.js';
import { proveBySnapshot, proveNoDataLoss } from '../../common/rules/proof.js';
import type { CandidateReport, InventoryVolume, ScannedReplica } from '../../common/types.js';

const copy = (over: Partial<ScannedReplica> = {}): ScannedReplica => ({
  volumeId: 'v',
  sizeBytes: 4096,
  role: 'primary',
  epoch: 1,
  writeSeq: 5,
  badBlocks: [],
  dirtyBadBlocks: [],
  digest: 'abc',
  baseSnapshotId: null,
  rebuilding: false,
  ...over,
});
const candidate = (nodeId: string, over: Partial<ScannedReplica> = {}): CandidateReport => ({
  nodeId,
  serverRecoveryId: `sr-${nodeId}`,
  replica: copy(over),
});
const arbCandidate = fc
  .record({
    nodeId: fc.constantFrom('n1', 'n2', 'n3', 'n4'),
    epoch: fc.integer({ min: 1, max: 4 }),
    writeSeq: fc.integer({ min: 0, max: 20 }),
    bad: fc.integer({ min: 0, max: 3 }),
  })
  .map((c) => candidate(c.nodeId, { epoch: c.epoch, writeSeq: c.writeSeq, badBlocks: Array.from({ length: c.bad }, (_, i) => i) }));
const arbCandidates = fc.uniqueArray(arbCandidate, { minLength: 1, maxLength: 4, selector: (c) => c.nodeId });

describe('classification', () => {
  const volume = (over: Partial<InventoryVolume> = {}): InventoryVolume => ({
    volumeId: 'v',
    deleted: false,
    epoch: 2,
    members: [
      { nodeId: 'a', role: 'primary', epoch: 2, healthy: false },
      { nodeId: 'b', role: 'secondary', epoch: 2, healthy: false },
    ],
    ...over,
  });

  it('calls a copy of an unknown or deleted volume an orphan', () => {
    expect(classifyReplica('a', copy({ epoch: 2 }), undefined)).toBe('orphan');
    expect(classifyReplica('a', copy({ epoch: 2 }), volume({ deleted: true }))).toBe('orphan');
  });

  it('calls a copy below the volume epoch, or outside its membership, stale', () => {
    expect(classifyReplica('a', copy({ epoch: 1 }), volume())).toBe('stale');
    expect(classifyReplica('z', copy({ epoch: 2 }), volume())).toBe('stale');
  });

  it('lets the current copies of a node that never crashed rejoin as they were', () => {
    expect(classifyReplica('a', copy({ epoch: 2 }), volume(), false)).toBe('rejoin');
    expect(classifyReplica('a', copy({ epoch: 1 }), volume(), false)).toBe('stale');
  });

  it('offers a copy ahead of the volume epoch (a promotion never committed) to a volume recovery, crashed or not', () => {
    const healthyPeer = volume({
      members: [
        { nodeId: 'a', role: 'primary', epoch: 2, healthy: true },
        { nodeId: 'b', role: 'secondary', epoch: 2, healthy: false },
      ],
    });
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.boolean(), fc.boolean(), (epoch, crashed, peerHealthy) => {
        const inventory = peerHealthy ? healthyPeer : volume();
        expect(classifyReplica('b', copy({ epoch, role: 'primary' }), inventory, crashed)).toBe('candidate');
      }),
    );
  });

  it('offers a current copy to the volume recovery that holds another member, crashed or not', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), (crashed, peerHealthy) => {
        const inventory = volume({
          members: [
            { nodeId: 'a', role: 'primary', epoch: 2, healthy: false, held: true },
            { nodeId: 'b', role: 'secondary', epoch: 2, healthy: peerHealthy },
          ],
        });
        expect(classifyReplica('b', copy({ epoch: 2, role: 'secondary' }), inventory, crashed)).toBe('candidate');
      }),
    );
  });

  it("holds a crashed copy's classification while a peer rejoins (its node not back in service yet)", () => {
    const rejoining = volume({
      members: [
        { nodeId: 'a', role: 'primary', epoch: 2, healthy: false },
        { nodeId: 'b', role: 'secondary', epoch: 2, healthy: false, rejoining: true },
      ],
    });
    expect(classifyReplica('a', copy({ epoch: 2 }), rejoining)).toBe('await-peer');
    expect(classifyReplica('a', copy({ epoch: 2 }), rejoining, false)).toBe('rejoin');
  });

  it('calls a current copy with a healthy peer a duplicate, and without one a candidate', () => {
    const healthyPeer = volume({
      members: [
        { nodeId: 'a', role: 'primary', epoch: 2, healthy: false },
        { nodeId: 'b', role: 'secondary', epoch: 2, healthy: true },
      ],
    });
    expect(classifyReplica('a', copy({ epoch: 2 }), healthyPeer)).toBe('duplicate');
    expect(classifyReplica('a', copy({ epoch: 2 }), volume())).toBe('candidate');
  });
});

describe('election', () => {
  it('never loses the copy with the highest (epoch, writeSeq)', () => {
    fc.assert(
      fc.property(arbCandidates, (cs) => {
        const { winner, losers } = electAuthoritative(cs)!;
        const best = cs.reduce((m, c) =>
          c.replica.epoch > m.replica.epoch || (c.replica.epoch === m.replica.epoch && c.replica.writeSeq > m.replica.writeSeq) ? c : m,
        );
        expect([winner.replica.epoch, winner.replica.writeSeq]).toEqual([best.replica.epoch, best.replica.writeSeq]);
        expect(losers).toHaveLength(cs.length - 1);
        expect(losers).not.toContain(winner);
      }),
    );
  });

  it('prefers fewer bad blocks between equal generations', () => {
    expect(electAuthoritative([candidate('n1', { badBlocks: [3] }), candidate('n2')])!.winner.nodeId).toBe('n2');
  });

  it('is independent of arrival order', () => {
    fc.assert(
      fc.property(arbCandidates, (cs) => {
        expect(electAuthoritative([...cs].reverse())!.winner).toEqual(electAuthoritative(cs)!.winner);
      }),
    );
  });

  it('lets a late copy take over only when it holds strictly more', () => {
    expect(supersedes(candidate('n1'), candidate('n2'))).toBe(false);
    expect(supersedes(candidate('n3', { writeSeq: 6 }), candidate('n2'))).toBe(true);
    fc.assert(
      fc.property(arbCandidate, arbCandidate, (a, b) => {
        if (supersedes(a, b)) expect(compareAuthority(a, b)).toBeLessThan(0);
      }),
    );
  });

  it('waits until every expected holder reported', () => {
    expect(allPeersReported(['a', 'b'], ['a'])).toBe(false);
    expect(allPeersReported(['a', 'b'], ['b', 'a'])).toBe(true);
  });
});

describe('proof of no data loss', () => {
  const digest = (nodeId: string, d = 'abc', writeSeq = 5) => ({ nodeId, epoch: 1, writeSeq, digest: d });

  it('holds when a second copy agrees on epoch, writeSeq and digest', () => {
    expect(proveNoDataLoss(candidate('n1'), [digest('n1'), digest('n2')])).toMatch(/n1 and n2 agree on epoch 1, writeSeq 5/);
  });

  it('fails with one copy, a different digest or writeSeq, or bad blocks', () => {
    expect(proveNoDataLoss(candidate('n1'), [digest('n1')])).toBeNull();
    expect(proveNoDataLoss(candidate('n1'), [digest('n1'), digest('n2', 'other')])).toBeNull();
    expect(proveNoDataLoss(candidate('n1'), [digest('n1'), digest('n2', 'abc', 4)])).toBeNull();
    expect(proveNoDataLoss(candidate('n1', { badBlocks: [1] }), [digest('n1'), digest('n2')])).toBeNull();
  });
});

describe('the deletion re-check', () => {
  const c = (nodeId: string, over: Partial<{ member: boolean; healthy: boolean; restored: boolean; primary: boolean }> = {}) => ({
    nodeId,
    member: true,
    healthy: false,
    restored: false,
    held: false,
    primary: false,
    ...over,
  });

  it('never deletes a member copy unless another member is healthy or restored', () => {
    expect(mayDeleteCopy(false, 'a', [c('a'), c('b')], 'other')).toBe(false);
    expect(mayDeleteCopy(false, 'a', [c('a'), c('b', { healthy: true })], 'other')).toBe(true);
    expect(mayDeleteCopy(false, 'a', [c('a'), c('b', { restored: true })], 'other')).toBe(true);
    expect(mayDeleteCopy(false, 'a', [c('a', { restored: true }), c('b', { healthy: true })], 'other')).toBe(false);
  });

  it('never deletes the copy the inventory names as the primary, whoever asks, until another member serves as primary', () => {
    for (const caller of ['other', 'volume-recovery'] as const) {
      // a healthy secondary beside it cannot serve alone, even while the primary's node recovers
      expect(mayDeleteCopy(false, 'a', [c('a', { primary: true, healthy: true }), c('b', { healthy: true })], caller)).toBe(false);
      expect(mayDeleteCopy(false, 'a', [c('a', { primary: true }), c('b', { healthy: true })], caller)).toBe(false);
      // once the role moved to another member that serves, the old one may go
      expect(mayDeleteCopy(false, 'a', [c('a', { primary: true }), c('b', { primary: true, healthy: true })], caller)).toBe(true);
      expect(mayDeleteCopy(true, 'a', [c('a', { primary: true })], caller)).toBe(true);
    }
  });

  it('deletes stale copies and copies of deleted volumes', () => {
    expect(mayDeleteCopy(false, 'a', [c('a', { member: false })], 'other')).toBe(true);
    expect(mayDeleteCopy(true, 'a', [c('a')], 'other')).toBe(true);
  });

  it('always leaves at least one member copy standing', () => {
    const arb = fc.uniqueArray(
      fc.record({
        nodeId: fc.constantFrom('a', 'b', 'c'),
        member: fc.boolean(),
        healthy: fc.boolean(),
        restored: fc.boolean(),
        held: fc.boolean(),
        primary: fc.boolean(),
      }),
      { selector: (x) => x.nodeId, minLength: 1 },
    );
    fc.assert(
      fc.property(arb, (copies) => {
        const members = copies.filter((x) => x.member);
        for (const m of members) {
          for (const caller of ['other', 'volume-recovery'] as const) {
            if (mayDeleteCopy(false, m.nodeId, copies, caller)) {
              expect(members.some((o) => o.nodeId !== m.nodeId && (o.healthy || o.restored))).toBe(true);
            }
          }
        }
      }),
    );
  });
});

describe('copies whose rebuild did not finish', () => {
  it('never win an election against a complete copy, whatever their generation', () => {
    fc.assert(
      fc.property(arbCandidates, fc.integer({ min: 0, max: 3 }), (cs, pick) => {
        const half = cs.map((c, i) => (i === pick % cs.length ? c : { ...c, replica: { ...c.replica, rebuilding: true } }));
        expect(electAuthoritative(half)!.winner.replica.rebuilding).toBe(false);
      }),
    );
  });

  it('never repair a block', () => {
    const winner = candidate('w', { badBlocks: [3], dirtyBadBlocks: [3] });
    expect(planRepairs(winner, [candidate('r', { rebuilding: true })]).get(3)).toEqual({ from: 'unrecoverable' });
  });
});

describe('merge planning', () => {
  const arbMerge = fc
    .record({
      winnerBad: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
      dirty: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 16 }),
      peers: fc.uniqueArray(
        fc.record({
          nodeId: fc.constantFrom('p1', 'p2', 'p3'),
          sameGeneration: fc.boolean(),
          bad: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
        }),
        { maxLength: 3, selector: (p) => p.nodeId },
      ),
    })
    .map(({ winnerBad, dirty, peers }) => ({
      winner: candidate('w', { badBlocks: winnerBad, dirtyBadBlocks: winnerBad.filter((b) => dirty.includes(b)) }),
      others: peers.map((p) => candidate(p.nodeId, { writeSeq: p.sameGeneration ? 5 : 4, badBlocks: p.bad })),
    }));

  it('gives every bad block of the elected copy exactly one source', () => {
    fc.assert(
      fc.property(arbMerge, ({ winner, others }) => {
        expect([...planRepairs(winner, others).keys()].sort((a, b) => a - b)).toEqual([...winner.replica.badBlocks].sort((a, b) => a - b));
      }),
    );
  });

  it('takes a block from a peer only at the same (epoch, writeSeq) and only where its CRC verifies', () => {
    fc.assert(
      fc.property(arbMerge, ({ winner, others }) => {
        for (const [block, source] of planRepairs(winner, others)) {
          if (source.from !== 'peer') continue;
          const peer = others.find((o) => o.nodeId === source.nodeId)!;
          expect([peer.replica.epoch, peer.replica.writeSeq]).toEqual([winner.replica.epoch, winner.replica.writeSeq]);
          expect(peer.replica.badBlocks).not.toContain(block);
        }
      }),
    );
  });

  it('never takes a block written since the snapshot from the snapshot', () => {
    fc.assert(
      fc.property(arbMerge, ({ winner, others }) => {
        for (const [block, source] of planRepairs(winner, others)) {
          if (source.from === 'snapshot') expect(winner.replica.dirtyBadBlocks).not.toContain(block);
        }
      }),
    );
  });

  it('calls a block unrecoverable only when it was written since and no twin holds it intact', () => {
    fc.assert(
      fc.property(arbMerge, ({ winner, others }) => {
        for (const [block, source] of planRepairs(winner, others)) {
          if (source.from !== 'unrecoverable') continue;
          expect(winner.replica.dirtyBadBlocks).toContain(block);
          const twins = others.filter((o) => o.replica.writeSeq === winner.replica.writeSeq && o.replica.epoch === winner.replica.epoch);
          expect(twins.every((t) => t.replica.badBlocks.includes(block))).toBe(true);
        }
      }),
    );
  });
});

describe('proof by snapshot', () => {
  const snapshot = { snapshotId: 's1', writeSeq: 5, digest: 'abc' };

  it('holds when the restored copy equals its latest snapshot and took no write since', () => {
    expect(proveBySnapshot(candidate('a'), snapshot)).toContain('snapshot s1');
  });

  it('fails after a write, with another digest, with bad blocks left, or without a snapshot', () => {
    expect(proveBySnapshot(candidate('a', { writeSeq: 6 }), snapshot)).toBeNull();
    expect(proveBySnapshot(candidate('a', { digest: 'abd' }), snapshot)).toBeNull();
    expect(proveBySnapshot(candidate('a', { badBlocks: [3] }), snapshot)).toBeNull();
    expect(proveBySnapshot(candidate('a'), null)).toBeNull();
  });
});
