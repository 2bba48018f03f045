// Incidents of one node, stated as properties: admission orders them, only the newest moves the
// node, a copy a volume recovery holds is never taken by another workflow, and a configuration
// wait ends once the inventory shows every copy settled.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyReplica } from '../../common/rules/classify.js';
import { mayDeleteCopy } from '../../common/rules/deletion.js';
import { admissionFor, copySettled, isHeldByRecovery, mayMoveNode, reconcile, type OpenIncident } from '../../common/rules/incidents.js';
import { REPLICA_TRANSITIONS, type ReplicaState, type VolumeState } from '../../common/states.js';
import type { InventoryVolume } from '../../common/types.js';
import { scannedCopy } from '../support/inventory-fixtures.js';

const REPLICA_STATES = Object.keys(REPLICA_TRANSITIONS) as ReplicaState[];
const VOLUME_STATES: VolumeState[] = ['creating', 'available', 'in-use', 'deleting', 'deleted', 'archived', 'error'];
const scanAt = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

describe('admitting a report', () => {
  const arbOpen = fc.uniqueArray(
    fc.record({
      incident: fc.integer({ min: 1, max: 50 }),
      scannedAt: fc.option(fc.integer({ min: 0, max: 5 }).map(scanAt)),
      inService: fc.boolean(),
    }),
    { selector: (o) => o.incident, maxLength: 4 },
  );

  it('joins the incident admitted with the same scan: a retried report is not a new incident', () => {
    const open: OpenIncident[] = [{ incident: 7, scannedAt: scanAt(1), inService: false }];
    expect(admissionFor(open, scanAt(1))).toEqual({ kind: 'join', incident: 7 });
  });

  it('admits a new scan as a new incident that supersedes every open one', () => {
    fc.assert(
      fc.property(arbOpen, fc.integer({ min: 10, max: 20 }).map(scanAt), (open, fresh) => {
        const known = open.filter((o) => o.scannedAt !== null);
        const admission = admissionFor(known, fresh);
        expect(admission.kind).toBe('new');
        if (admission.kind === 'new') expect(admission.supersedes).toEqual(known.map((o) => o.incident).sort((a, b) => a - b));
      }),
    );
  });

  it('takes an admission slot only when no incident before service is replaced', () => {
    fc.assert(
      fc.property(arbOpen, fc.integer({ min: 10, max: 20 }).map(scanAt), (open, fresh) => {
        const known = open.filter((o) => o.scannedAt !== null);
        const admission = admissionFor(known, fresh);
        if (admission.kind === 'new') expect(admission.needsSlot).toBe(!known.some((o) => !o.inService));
      }),
    );
  });

  it('answers a late retry of a scan already admitted again, and admits nothing new for it', () => {
    fc.assert(
      fc.property(arbOpen, fc.integer({ min: 0, max: 5 }).map(scanAt), fc.integer({ min: 1, max: 60 }), (open, scan, earlier) => {
        const admission = admissionFor(open, scan, earlier);
        expect(admission.kind).not.toBe('new');
        if (admission.kind === 'repeat') expect(admission.incident).toBe(earlier);
      }),
    );
    const backInService: OpenIncident[] = [{ incident: 7, scannedAt: scanAt(1), inService: true }];
    expect(admissionFor(backInService, scanAt(1), 7)).toEqual({ kind: 'repeat', incident: 7 });
    expect(admissionFor([], scanAt(1), 7)).toEqual({ kind: 'repeat', incident: 7 });
  });

  it('never joins an incident already back in service', () => {
    fc.assert(
      fc.property(arbOpen, fc.integer({ min: 0, max: 5 }).map(scanAt), (open, scan) => {
        const admission = admissionFor(open, scan);
        if (admission.kind === 'join') expect(open.find((o) => o.incident === admission.incident)!.inService).toBe(false);
      }),
    );
  });
});

describe('who moves the node', () => {
  it('is the newest incident alone, and never a superseded one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), fc.boolean(), (incident, newest, superseded) => {
        expect(mayMoveNode(incident, newest, superseded)).toBe(!superseded && incident >= newest);
      }),
    );
  });
});

describe('a configuration wait', () => {
  it('counts a copy settled once the volume is gone or the copy is decided, deleted or out of the membership', () => {
    fc.assert(
      fc.property(fc.option(fc.constantFrom(...VOLUME_STATES)), fc.option(fc.constantFrom(...REPLICA_STATES)), (volume, copy) => {
        const gone = volume === null || volume === 'deleted' || volume === 'archived';
        const undecided = copy !== null && (isHeldByRecovery(copy) || copy === 'recovering');
        expect(copySettled(volume, copy)).toBe(gone || !undecided);
      }),
    );
  });

  it('ends superseded whatever it waits for, and otherwise names exactly the copies neither resolved by their recovery nor settled', () => {
    const arbWaits = fc.uniqueArray(
      fc.record({
        volumeId: fc.string({ minLength: 1, maxLength: 4 }),
        volume: fc.option(fc.constantFrom(...VOLUME_STATES)),
        copy: fc.option(fc.constantFrom(...REPLICA_STATES)),
        resolved: fc.boolean(),
      }),
      { selector: (w) => w.volumeId },
    );
    fc.assert(
      fc.property(fc.option(fc.record({ by: fc.option(fc.nat()) })), arbWaits, (superseded, waits) => {
        const found = reconcile(superseded, waits);
        if (superseded) {
          expect(found.kind).toBe('superseded');
          return;
        }
        const unsettled = waits.filter((w) => !w.resolved && !copySettled(w.volume, w.copy)).map((w) => w.volumeId);
        expect(found).toEqual(unsettled.length === 0 ? { kind: 'settled' } : { kind: 'waiting', unsettled });
      }),
    );
  });
});

/**
 * A model of one volume with copies on nodes a and b while node a has two incidents and the
 * volume's recovery holds a's copy. Steps arrive in any order; after each: a copy the recovery
 * holds was never deleted by an incident, the node moved only by its newest incident, and one copy
 * with the data always remains.
 */
describe('two incidents of one node beside a volume recovery', () => {
  type Step = 'classify-1' | 'classify-2' | 'admit-2' | 'resume-1' | 'resume-2' | 'restore-a' | 'delete-b-own' | 'enable-a';
  const STEPS: Step[] = ['classify-1', 'classify-2', 'admit-2', 'resume-1', 'resume-2', 'restore-a', 'delete-b-own', 'enable-a'];

  interface Model {
    copies: Record<'a' | 'b', ReplicaState>;
    admitted: number;
    superseded: Set<number>;
    /** Each move of the node: by which incident, and the newest incident admitted then. */
    nodeMoves: { by: number; newest: number }[];
  }

  const scanned = scannedCopy();

  const inventory = (m: Model): InventoryVolume => ({
    volumeId: 'v',
    deleted: false,
    epoch: 1,
    members: (['a', 'b'] as const)
      .filter((n) => !['stale', 'deleted'].includes(m.copies[n]))
      .map((n) => ({
        nodeId: n,
        role: 'primary',
        epoch: 1,
        healthy: n === 'b' && m.copies.b === 'in-service',
        held: isHeldByRecovery(m.copies[n]),
      })),
  });

  const copyStates = (m: Model) =>
    (['a', 'b'] as const).map((n) => ({
      nodeId: n,
      member: !['stale', 'deleted'].includes(m.copies[n]),
      healthy: n === 'b' && m.copies.b === 'in-service',
      restored: m.copies[n] === 'restored',
      held: isHeldByRecovery(m.copies[n]),
      primary: n === 'a' && m.copies.a === 'in-service',
    }));

  /** An incident's server recovery discards what its classification does not keep. */
  function classifyAndDiscard(m: Model, incident: number): void {
    if (incident > m.admitted || m.superseded.has(incident)) return;
    const verdict = classifyReplica('a', scanned, inventory(m));
    if (verdict === 'candidate' || verdict === 'rejoin') return;
    if (mayDeleteCopy(false, 'a', copyStates(m), 'other')) m.copies.a = 'deleted';
  }

  function apply(m: Model, step: Step): void {
    switch (step) {
      case 'classify-1':
        return classifyAndDiscard(m, 1);
      case 'classify-2':
        return classifyAndDiscard(m, 2);
      case 'admit-2':
        if (m.admitted === 1) ((m.admitted = 2), m.superseded.add(1));
        return;
      case 'resume-1':
      case 'resume-2': {
        const incident = step === 'resume-1' ? 1 : 2;
        if (incident <= m.admitted && mayMoveNode(incident, m.admitted, m.superseded.has(incident)))
          m.nodeMoves.push({ by: incident, newest: m.admitted });
        return;
      }
      case 'restore-a':
        if (m.copies.a === 'candidate') m.copies.a = 'restored';
        return;
      case 'delete-b-own':
        if (m.copies.b === 'candidate' && mayDeleteCopy(false, 'b', copyStates(m), 'volume-recovery')) m.copies.b = 'deleted';
        return;
      case 'enable-a':
        if (m.copies.a === 'restored') m.copies.a = 'in-service';
        return;
    }
  }

  it('keeps the held copy, moves the node only by its newest incident, and never loses the last copy', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...STEPS), { maxLength: 30 }),
        fc.constantFrom<ReplicaState>('candidate', 'in-service'),
        (steps, b) => {
          const m: Model = { copies: { a: 'candidate', b }, admitted: 1, superseded: new Set(), nodeMoves: [] };
          for (const step of steps) {
            const heldBefore = isHeldByRecovery(m.copies.a);
            apply(m, step);
            if (heldBefore && step.startsWith('classify')) expect(m.copies.a).not.toBe('deleted');
            expect(m.copies.a !== 'deleted' || m.copies.b !== 'deleted').toBe(true);
            for (const move of m.nodeMoves) expect(move.by).toBe(move.newest);
          }
        },
      ),
    );
  });
});
