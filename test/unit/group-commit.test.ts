// Group commit, as a pure model: over every interleaving of write arrivals, syncs, mirror
// answers and crashes, no write is acknowledged before it is durable on both copies, a sync
// covers exactly the writes applied before it started, and every write is acknowledged once
// the syncs and batches run to the end.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as commit from '../../storage-node/store/group-commit.js';

type Event = 'arrive' | 'sync' | 'synced' | 'syncFailed' | 'send' | 'sent' | 'sendFailed' | 'crash';
const EVENTS: Event[] = ['arrive', 'sync', 'synced', 'syncFailed', 'send', 'sent', 'sendFailed', 'crash'];

/** A primary and its peer: what each has durably, what was acknowledged, and the model's state. */
interface World {
  state: commit.CommitState;
  acknowledged: number;
  localDisk: number;
  peerDisk: number;
  syncs: { upTo: number; appliedAtStart: number }[];
}

function step(w: World, e: Event, maxWrites: number): World {
  const s = w.state;
  switch (e) {
    case 'arrive':
      return { ...w, state: commit.apply(s, s.applied + 1) };
    case 'sync': {
      const upTo = commit.nextSync(s);
      if (upTo === null) return w;
      return { ...w, state: commit.syncStarted(s, upTo), syncs: [...w.syncs, { upTo, appliedAtStart: s.applied }] };
    }
    case 'synced':
    case 'syncFailed':
      if (s.syncing === null) return w;
      return {
        ...w,
        state: commit.syncEnded(s, e === 'synced'),
        localDisk: e === 'synced' ? Math.max(w.localDisk, s.syncing) : w.localDisk,
      };
    case 'send': {
      const batch = commit.nextBatch(s, maxWrites);
      return batch ? { ...w, state: commit.batchSent(s, batch.to) } : w;
    }
    case 'sent':
    case 'sendFailed':
      if (s.sending === null) return w;
      return { ...w, state: commit.batchEnded(s, e === 'sent'), peerDisk: e === 'sent' ? Math.max(w.peerDisk, s.sending) : w.peerDisk };
    case 'crash': {
      // What survives is what was synced; recovery brings both copies to what both have durably.
      const common = Math.min(w.localDisk, w.peerDisk);
      return { ...w, state: commit.settledAt(common), localDisk: common, peerDisk: common };
    }
  }
}

function run(events: Event[], maxWrites: number, check: (before: World, after: World, e: Event) => void): World {
  let w: World = { state: commit.settledAt(0), acknowledged: 0, localDisk: 0, peerDisk: 0, syncs: [] };
  for (const e of events) {
    const next = step(w, e, maxWrites);
    next.acknowledged = Math.max(next.acknowledged, commit.acknowledgeable(next.state));
    check(w, next, e);
    w = next;
  }
  return w;
}

const events = fc.array(fc.constantFrom(...EVENTS), { maxLength: 200 });
const batchLimit = fc.integer({ min: 1, max: 8 });

describe('group commit', () => {
  it('acknowledges a write only when it is durable on both copies, whatever the interleaving and crashes', () => {
    fc.assert(
      fc.property(events, batchLimit, (es, max) => {
        run(es, max, (_, w) => {
          expect(w.acknowledged).toBeLessThanOrEqual(w.localDisk);
          expect(w.acknowledged).toBeLessThanOrEqual(w.peerDisk);
          expect(commit.acknowledgeable(w.state)).toBeLessThanOrEqual(w.state.applied);
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('runs one sync and one batch at a time, each sync covering exactly the writes applied before it started', () => {
    fc.assert(
      fc.property(events, batchLimit, (es, max) => {
        const w = run(es, max, (before, after, e) => {
          if (before.state.syncing !== null) expect(commit.nextSync(before.state)).toBeNull();
          if (before.state.sending !== null) expect(commit.nextBatch(before.state, max)).toBeNull();
          if (e === 'arrive' && before.state.syncing !== null) expect(after.state.syncing).toBe(before.state.syncing);
        });
        for (const sync of w.syncs) expect(sync.upTo).toBe(sync.appliedAtStart);
      }),
      { numRuns: 2000 },
    );
  });

  it('sends batches of consecutive writes durable here, never more than the limit, starting after the last confirmed', () => {
    fc.assert(
      fc.property(events, batchLimit, (es, max) => {
        run(es, max, (before) => {
          const batch = commit.nextBatch(before.state, max);
          if (!batch) return;
          expect(batch.from).toBe(before.state.mirrored + 1);
          expect(batch.to - batch.from + 1).toBeGreaterThanOrEqual(1);
          expect(batch.to - batch.from + 1).toBeLessThanOrEqual(max);
          expect(batch.to).toBeLessThanOrEqual(before.state.durable);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('acknowledges every write once syncs and batches run to the end, and never takes an acknowledgement back', () => {
    fc.assert(
      fc.property(events, batchLimit, (es, max) => {
        let w = run(es, max, (before, after, e) => {
          if (e !== 'crash') expect(commit.acknowledgeable(after.state)).toBeGreaterThanOrEqual(commit.acknowledgeable(before.state));
        });
        const drain: Event[] = ['synced', 'sent', 'sync', 'send', 'synced', 'sent'];
        for (let i = 0; i < w.state.applied + 2; i++) w = drainOnce(w, drain, max);
        expect(commit.acknowledgeable(w.state)).toBe(w.state.applied);
        expect(commit.isIdle(w.state)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("acknowledges a write the moment the peer's answer covers it: the peer never confirms a write this copy has yet to sync", () => {
    fc.assert(
      fc.property(events, batchLimit, (es, max) => {
        run(es, max, (_, after, e) => {
          expect(after.state.mirrored).toBeLessThanOrEqual(after.state.durable);
          if (e === 'sent') expect(commit.acknowledgeable(after.state)).toBe(after.state.mirrored);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('puts the writes that arrive during a sync into the next sync', () => {
    let s = commit.settledAt(10);
    s = commit.apply(s, 11);
    s = commit.syncStarted(s, commit.nextSync(s)!);
    for (let seq = 12; seq <= 16; seq++) s = commit.apply(s, seq);
    expect(commit.nextSync(s)).toBeNull();
    s = commit.syncEnded(s, true);
    expect(s.durable).toBe(11);
    expect(commit.nextSync(s)).toBe(16);
  });

  it('refuses a write applied out of order', () => {
    expect(() => commit.apply(commit.settledAt(3), 5)).toThrow('write 5 applied out of order after 3');
  });
});

function drainOnce(w: World, events: Event[], max: number): World {
  let next = w;
  for (const e of events) next = step(next, e, max);
  return next;
}
