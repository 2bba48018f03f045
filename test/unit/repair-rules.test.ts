// The repair loop's rule (common/rules/repair.ts), stated as properties over random fleets: it
// never acts while the breaker holds, never rebuilds what a workflow owns or what is in flux,
// stays inside its bounds, rebuilds only from a serving copy, backs off, and leaves a healthy
// fleet alone — no action and no write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeFailoverId, peerDropId, serverRecoveryId, volumeRebuildId, volumeRecoveryId } from '../../common/messages.js';
import {
  FAILING_AFTER,
  TRANSITIONAL_STATES,
  nodeSubject,
  ownerOf,
  ownsVolume,
  planRepairs,
  repairBackoffMs,
  replicaSubject,
  settleRepairs,
  subjectOf,
  volumeRepairId,
  volumeSubject,
  type RepairFacts,
  type RepairKind,
  type RepairNode,
  type RepairPolicy,
  type RepairRecord,
  type RepairVolume,
} from '../../common/rules/repair.js';
import type { NodeState, ReplicaState, VolumeState } from '../../common/states.js';

const NOW = 1_000_000_000;
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const VOLUMES = ['v1', 'v2', 'v3', 'v4'];
/** Enough fleets that the rarer repairs are drawn often (each property counts that it saw some). */
const RUNS = { numRuns: 500 };
const policy: RepairPolicy = { graceMs: 10_000, stuckMs: 60_000, backoffMs: 1000, backoffCapMs: 60_000, maxRebuilds: 2 };

const arbNode: (nodeId: string) => fc.Arbitrary<RepairNode> = (nodeId) =>
  fc.record({
    nodeId: fc.constant(nodeId),
    state: fc.constantFrom<NodeState>('in-service', 'in-service', 'in-service', 'in-service', 'down', 'recovering'),
    fresh: fc.constantFrom(true, true, true, false),
    heard: fc.constantFrom(true, true, false),
    newestIncident: fc.nat(5),
  });

const arbUpdatedAt = fc.integer({ min: NOW - 3 * policy.stuckMs, max: NOW });
const arbCopy = fc.record({
  nodeId: fc.constantFrom(...NODES),
  role: fc.constantFrom('primary' as const, 'secondary' as const),
  state: fc.constantFrom<ReplicaState>('in-service', 'in-service', 'recovering', 'candidate', 'restored', 'rebuilding', 'stale'),
  updatedAt: arbUpdatedAt,
});
const primaryOn = (nodeId: string, updatedAt: number) => ({ nodeId, role: 'primary' as const, state: 'in-service' as const, updatedAt });
/**
 * The copies of a volume: often one of the shapes the loop repairs (a lone primary, a primary with
 * a rebuilding secondary), with a stale copy or not; otherwise anything.
 */
const arbCopies = fc.oneof(
  fc
    .tuple(fc.shuffledSubarray(NODES, { minLength: 3, maxLength: 3 }), arbUpdatedAt, arbUpdatedAt, fc.boolean())
    .map(([[p, r, s], t1, t2, stale]) => [
      primaryOn(p!, t1),
      ...(stale ? [{ nodeId: s!, role: 'secondary' as const, state: 'stale' as const, updatedAt: t2 }] : []),
    ]),
  fc
    .tuple(fc.shuffledSubarray(NODES, { minLength: 2, maxLength: 2 }), arbUpdatedAt, arbUpdatedAt)
    .map(([[p, r], t1, t2]) => [
      primaryOn(p!, t1),
      { nodeId: r!, role: 'secondary' as const, state: 'rebuilding' as const, updatedAt: t2 },
    ]),
  fc.uniqueArray(arbCopy, { maxLength: 3, selector: (c) => c.nodeId }),
);

const arbVolume = (volumeId: string): fc.Arbitrary<RepairVolume> =>
  fc.record({
    volumeId: fc.constant(volumeId),
    state: fc.constantFrom<VolumeState>('available', 'available', 'available', 'in-use', 'archived', 'deleting', 'deleted'),
    epoch: fc.integer({ min: 1, max: 4 }),
    awaitingOwner: fc.constantFrom(false, false, false, true),
    copies: arbCopies,
  });

const SUBJECTS = [
  ...VOLUMES.map(volumeSubject),
  ...NODES.map(nodeSubject),
  ...VOLUMES.flatMap((v) => NODES.map((n) => replicaSubject(v, n))),
];
const kindOf = (subject: string): RepairKind =>
  subject.startsWith('volume:') ? 'under-replicated' : subject.startsWith('node:') ? 'node-stuck-recovering' : 'replica-stuck';
const arbRecord = (subject: string): fc.Arbitrary<RepairRecord> =>
  fc.record({
    subject: fc.constant(subject),
    kind: fc.constant(kindOf(subject)),
    attempts: fc.nat(6),
    lastError: fc.constantFrom(null, 'it failed'),
    nextAttemptAt: fc.integer({ min: NOW - 20_000, max: NOW + 5_000 }),
    failing: fc.boolean(),
  });
/** Every volume and node subject is often recorded (a condition seen before), replica subjects sometimes. */
const arbRecords = fc
  .tuple(fc.subarray([...VOLUMES.map(volumeSubject), ...NODES.map(nodeSubject)]), fc.subarray(SUBJECTS, { maxLength: 4 }))
  .chain(([often, some]) => fc.tuple(...[...new Set([...often, ...some])].map(arbRecord)));

const arbFacts: fc.Arbitrary<RepairFacts> = fc.record({
  now: fc.constant(NOW),
  breakerHolds: fc.constantFrom(false, false, false, true),
  fleet: fc.record({
    total: fc.constant(NODES.length),
    unreachable: fc.constantFrom(0, 0, 1, 2, 5),
    massOutageShare: fc.constantFrom(0.2, 1 / 3, 0.5, 0.8),
  }),
  volumes: fc.tuple(...VOLUMES.map(arbVolume)),
  nodes: fc.tuple(...NODES.map(arbNode)),
  volumeWork: fc.array(fc.record({ volumeId: fc.constantFrom(...VOLUMES), epoch: fc.integer({ min: 1, max: 4 }), rebuild: fc.boolean() }), {
    maxLength: 2,
  }),
  busyNodes: fc.subarray(NODES, { maxLength: 2 }),
  repairRebuildsRunning: fc.constantFrom(0, 0, 0, 1, 3),
  records: arbRecords,
});

const members = (v: RepairVolume) => v.copies.filter((c) => c.state !== 'stale' && c.state !== 'deleted');
const volumeOf = (f: RepairFacts, id: string) => f.volumes.find((v) => v.volumeId === id)!;
const nodeOf = (f: RepairFacts, id: string) => f.nodes.find((n) => n.nodeId === id)!;

describe('the repair rule', () => {
  it('does nothing, and writes nothing, while the mass-outage breaker holds', () => {
    fc.assert(
      fc.property(arbFacts, (f) => {
        const facts = { ...f, breakerHolds: true };
        const plan = planRepairs(facts, policy);
        expect(plan.actions).toEqual([]);
        expect(settleRepairs(facts, plan, [], policy)).toEqual({ upserts: [], resolved: [] });
      }),
    );
  });

  it('rebuilds only a volume no workflow owns, whose only member is an in-service primary on an in-service node heard just now', () => {
    let rebuilds = 0;
    fc.assert(
      fc.property(arbFacts, (facts) => {
        for (const a of planRepairs(facts, policy).actions) {
          if (a.kind !== 'rebuild') continue;
          rebuilds++;
          const volume = volumeOf(facts, a.volumeId);
          expect(facts.volumeWork.filter((w) => ownsVolume(w, volume))).toEqual([]);
          expect(members(volume).some((c) => TRANSITIONAL_STATES.includes(c.state))).toBe(false);
          expect(members(volume)).toEqual([expect.objectContaining({ nodeId: a.source, state: 'in-service', role: 'primary' })]);
          expect(nodeOf(facts, a.source)).toMatchObject({ state: 'in-service', fresh: true });
          expect(['available', 'in-use']).toContain(volume.state);
          expect(volume.awaitingOwner).toBe(false);
          expect(a.epoch).toBe(volume.epoch);
        }
      }),
      RUNS,
    );
    expect(rebuilds).toBeGreaterThan(10); // the fleets drawn do call for rebuilds
  });

  it('drops a rebuild once a workflow owns the volume, or another copy of it is in flux, but not for a rebuild of an older epoch', () => {
    fc.assert(
      fc.property(arbFacts, fc.constantFrom<ReplicaState>(...TRANSITIONAL_STATES), fc.boolean(), (facts, state, rebuild) => {
        for (const a of planRepairs(facts, policy).actions) {
          if (a.kind !== 'rebuild') continue;
          const rebuildsOf = (f: RepairFacts) =>
            planRepairs(f, policy).actions.filter((x) => x.kind === 'rebuild' && x.volumeId === a.volumeId);
          const working = (epoch: number) => ({ ...facts, volumeWork: [...facts.volumeWork, { volumeId: a.volumeId, epoch, rebuild }] });
          expect(rebuildsOf(working(a.epoch))).toEqual([]);
          // a rebuild of an older epoch is only cleaning up; a recovery or peer drop of any epoch owns the volume
          expect(rebuildsOf(working(a.epoch - 1))).toHaveLength(rebuild ? 1 : 0);
          const spare = NODES.find((n) => !volumeOf(facts, a.volumeId).copies.some((c) => c.nodeId === n))!;
          const inFlux = { nodeId: spare, role: 'secondary' as const, state, updatedAt: NOW };
          const volumes = facts.volumes.map((v) => (v.volumeId === a.volumeId ? { ...v, copies: [...v.copies, inFlux] } : v));
          expect(rebuildsOf({ ...facts, volumes })).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('starts as many rebuilds as the data queue has room for, counting its rebuilds still running, and no more', () => {
    // fleets where many volumes call for a rebuild at once: nothing owns them, every node serves, each is due
    const crowded = arbFacts.map((f): RepairFacts => ({
      ...f,
      breakerHolds: false,
      volumes: f.volumes.map((v) => ({ ...v, state: 'available', awaitingOwner: false })),
      nodes: f.nodes.map((n) => ({ ...n, state: 'in-service', fresh: true })),
      volumeWork: [],
      records: VOLUMES.map((v) => ({
        subject: volumeSubject(v),
        kind: 'under-replicated',
        attempts: 1,
        lastError: null,
        nextAttemptAt: NOW,
        failing: false,
      })),
    }));
    let crowdedRuns = 0;
    fc.assert(
      fc.property(crowded, fc.integer({ min: 1, max: 4 }), (facts, maxRebuilds) => {
        const wanted = planRepairs({ ...facts, repairRebuildsRunning: 0 }, { ...policy, maxRebuilds: 100 }).actions.filter(
          (a) => a.kind === 'rebuild',
        );
        const rebuilds = planRepairs(facts, { ...policy, maxRebuilds }).actions.filter((a) => a.kind === 'rebuild');
        const room = Math.max(0, maxRebuilds - facts.repairRebuildsRunning);
        expect(rebuilds.length).toBe(Math.min(wanted.length, room));
        if (wanted.length > room) crowdedRuns++;
      }),
      RUNS,
    );
    expect(crowdedRuns).toBeGreaterThan(10);
  });

  it('asks no more nodes to report than the breaker leaves room for, each node once', () => {
    let asked = 0;
    fc.assert(
      fc.property(arbFacts, (facts) => {
        const reports = planRepairs(facts, policy).actions.filter((a) => a.kind === 'report');
        asked += reports.length;
        const { total, unreachable, massOutageShare } = facts.fleet;
        expect(unreachable + reports.length <= massOutageShare * total || reports.length === 0).toBe(true);
        expect(new Set(reports.map((r) => r.nodeId)).size).toBe(reports.length);
        for (const r of reports) {
          expect(facts.busyNodes).not.toContain(r.nodeId);
          expect(nodeOf(facts, r.nodeId)).toMatchObject({ heard: true, state: r.state });
          expect(['in-service', 'recovering']).toContain(r.state);
        }
      }),
      RUNS,
    );
    expect(asked).toBeGreaterThan(10);
  });

  it('abandons only a rebuilding copy left past the bound with no workflow, and stops mirroring only to it', () => {
    let dropped = 0;
    fc.assert(
      fc.property(arbFacts, (facts) => {
        for (const a of planRepairs(facts, policy).actions) {
          if (a.kind !== 'abandon') continue;
          if (a.dropPeerOf !== null) dropped++;
          const volume = volumeOf(facts, a.volumeId);
          const copy = volume.copies.find((c) => c.nodeId === a.nodeId)!;
          expect(copy.state).toBe('rebuilding');
          expect(facts.now - copy.updatedAt).toBeGreaterThanOrEqual(policy.stuckMs);
          expect(facts.volumeWork.filter((w) => ownsVolume(w, volume))).toEqual([]);
          expect(facts.busyNodes).not.toContain(a.nodeId);
          if (a.dropPeerOf !== null) {
            // no other member could miss writes: the primary is the volume's only other member
            expect(
              members(volume)
                .map((c) => c.nodeId)
                .sort(),
            ).toEqual([a.dropPeerOf, a.nodeId].sort());
            expect(volume.copies.find((c) => c.nodeId === a.dropPeerOf)).toMatchObject({ role: 'primary', state: 'in-service' });
          }
        }
      }),
      RUNS,
    );
    expect(dropped).toBeGreaterThan(0);
  });

  it('leaves a condition first seen for its grace, unless it is a copy already past the bound', () => {
    fc.assert(
      fc.property(arbFacts, (f) => {
        const facts = { ...f, records: [] };
        for (const a of planRepairs(facts, policy).actions)
          expect(a.kind === 'abandon' || a.subjects.every((s) => s.startsWith('replica:'))).toBe(true);
      }),
    );
  });

  it('acts on a recorded condition only once its backoff has passed', () => {
    fc.assert(
      fc.property(arbFacts, (facts) => {
        for (const a of planRepairs(facts, policy).actions) {
          for (const s of a.subjects) {
            const record = facts.records.find((r) => r.subject === s);
            if (record) expect(record.nextAttemptAt).toBeLessThanOrEqual(facts.now);
          }
        }
      }),
    );
  });

  it('finds nothing on a healthy fleet, and so does and writes nothing', () => {
    const healthyVolume = (volumeId: string) =>
      fc.tuple(fc.shuffledSubarray(NODES, { minLength: 2, maxLength: 2 }), fc.nat(NOW)).map(([[p, s], updatedAt]): RepairVolume => ({
        volumeId,
        state: 'available',
        epoch: 1,
        awaitingOwner: false,
        copies: [
          { nodeId: p!, role: 'primary', state: 'in-service', updatedAt },
          { nodeId: s!, role: 'secondary', state: 'in-service', updatedAt },
        ],
      }));
    const healthy = fc.record({
      volumes: fc.tuple(...VOLUMES.map(healthyVolume)),
      repairRebuildsRunning: fc.nat(3),
    });
    fc.assert(
      fc.property(healthy, ({ volumes, repairRebuildsRunning }) => {
        const facts: RepairFacts = {
          now: NOW,
          breakerHolds: false,
          fleet: { total: NODES.length, unreachable: 0, massOutageShare: 1 / 3 },
          volumes,
          nodes: NODES.map((nodeId) => ({ nodeId, state: 'in-service', fresh: true, heard: true, newestIncident: 0 })),
          volumeWork: [],
          busyNodes: [],
          repairRebuildsRunning,
          records: [],
        };
        const plan = planRepairs(facts, policy);
        expect(plan).toEqual({ actions: [], found: [] });
        expect(settleRepairs(facts, plan, [], policy)).toEqual({ upserts: [], resolved: [] });
      }),
    );
  });
});

describe('the repair record', () => {
  it('backs off monotonically, doubling from the base, never past the cap', () => {
    const arbPolicy = fc
      .tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 }))
      .map(([backoffMs, extra]) => ({ backoffMs, backoffCapMs: backoffMs + extra }));
    fc.assert(
      fc.property(arbPolicy, fc.integer({ min: 1, max: 200 }), (p, attempts) => {
        const wait = repairBackoffMs(attempts, p);
        expect(wait).toBeGreaterThanOrEqual(repairBackoffMs(attempts - 1, p));
        expect(wait).toBeLessThanOrEqual(p.backoffCapMs);
        expect(wait).toBeGreaterThanOrEqual(Math.min(p.backoffMs, p.backoffCapMs));
        if (attempts > 1 && repairBackoffMs(attempts - 1, p) * 2 <= p.backoffCapMs) expect(wait).toBe(repairBackoffMs(attempts - 1, p) * 2);
      }),
    );
  });

  it('keeps a record exactly while its condition lasts, counts each attempt and delays the next by the backoff', () => {
    fc.assert(
      fc.property(arbFacts, fc.array(fc.constantFrom(null, 'boom')), (f, errors) => {
        const facts = { ...f, breakerHolds: false };
        const plan = planRepairs(facts, policy);
        const outcomes = plan.actions.map((a, i) => ({ subjects: a.subjects, error: errors[i] ?? null }));
        const { upserts, resolved } = settleRepairs(facts, plan, outcomes, policy);
        const found = new Set(plan.found.map((c) => c.subject));
        expect(resolved.sort()).toEqual(
          facts.records
            .map((r) => r.subject)
            .filter((s) => !found.has(s))
            .sort(),
        );
        for (const u of upserts) expect(found.has(u.subject)).toBe(true);
        for (const a of plan.actions) {
          for (const s of a.subjects) {
            const u = upserts.find((x) => x.subject === s)!;
            const before = facts.records.find((r) => r.subject === s)?.attempts ?? 0;
            expect(u).toMatchObject({ attempted: true, attempts: before + 1, nextAttemptAt: NOW + repairBackoffMs(before + 1, policy) });
          }
        }
      }),
    );
  });

  it('says a repair is failing once it found its condition still there after FAILING_AFTER attempts', () => {
    const facts = (attempts: number, nextAttemptAt: number): RepairFacts => ({
      now: NOW,
      breakerHolds: false,
      fleet: { total: 5, unreachable: 0, massOutageShare: 1 / 3 },
      volumes: [
        {
          volumeId: 'v1',
          state: 'available',
          epoch: 2,
          awaitingOwner: false,
          copies: [{ nodeId: 'n1', role: 'primary', state: 'in-service', updatedAt: 0 }],
        },
      ],
      nodes: [{ nodeId: 'n1', state: 'in-service', fresh: true, heard: true, newestIncident: 0 }],
      volumeWork: [],
      busyNodes: [],
      repairRebuildsRunning: 0,
      records: [{ subject: 'volume:v1', kind: 'under-replicated', attempts, lastError: null, nextAttemptAt, failing: false }],
    });
    const settle = (f: RepairFacts) => {
      const plan = planRepairs(f, policy);
      const outcomes = plan.actions.map((a) => ({ subjects: a.subjects, error: null }));
      return settleRepairs(f, plan, outcomes, policy).upserts[0];
    };
    // waiting out the backoff after attempt 2: not failing yet (nothing to write); after attempt 3: failing
    expect(settle(facts(FAILING_AFTER - 1, NOW + 1))).toBeUndefined();
    expect(settle(facts(FAILING_AFTER, NOW + 1))).toMatchObject({ failing: true, attempted: false });
    // the next attempt after three that did not repair it: attempt 4, failing, and the last error says so
    expect(settle(facts(FAILING_AFTER, NOW))).toMatchObject({
      failing: true,
      attempted: true,
      attempts: FAILING_AFTER + 1,
      lastError: `attempt ${FAILING_AFTER} did not repair it`,
    });
    // while a rebuild runs for it, nothing is decided about it
    const running = { ...facts(FAILING_AFTER, NOW + 1), volumeWork: [{ volumeId: 'v1', epoch: 2, rebuild: true }] };
    expect(settle(running)).toBeUndefined();
  });
});

describe('what a running workflow owns', () => {
  const volumeId = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
  const nodeId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
  const n = fc.integer({ min: 1, max: 1_000_000 });

  it('is read off the workflow id, for every id the system builds', () => {
    fc.assert(
      fc.property(volumeId, nodeId, n, n, (v, node, epoch, k) => {
        expect(ownerOf(volumeRecoveryId(v, epoch))).toEqual({ volumeId: v, epoch, rebuild: false, repair: false });
        expect(ownerOf(volumeRebuildId(v, epoch))).toEqual({ volumeId: v, epoch, rebuild: true, repair: false });
        expect(ownerOf(peerDropId(v, epoch))).toEqual({ volumeId: v, epoch, rebuild: false, repair: false });
        expect(ownerOf(volumeRepairId(v, epoch, k))).toEqual({ volumeId: v, epoch, rebuild: true, repair: true });
        expect(ownerOf(serverRecoveryId(node, k))).toEqual({ nodeId: node });
        expect(ownerOf(nodeFailoverId(node, k))).toEqual({ nodeId: node });
        expect(subjectOf(replicaSubject(v, node))).toEqual({ volumeId: v, nodeId: node });
        expect(subjectOf(volumeSubject(v))).toEqual({ volumeId: v });
        expect(subjectOf(nodeSubject(node))).toEqual({ nodeId: node });
      }),
    );
  });

  it('is nothing for a workflow that owns no volume or node', () => {
    expect(ownerOf('fleet-repair-2026-01-01T00:00:00Z')).toBeNull();
    expect(ownerOf('volume-snapshot-snap-1')).toBeNull();
  });
});
