// The volume recovery machine over random event sequences: offers, decisions, snapshots and the
// results of its own commands in any order the workflow could see them. The safety invariants
// are checked at every step, and every run that is then given its deadline must end.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FinalAction } from '../../common/messages.js';
import {
  decisionAnswer,
  decisionWakes,
  outcome,
  peersReported,
  rejectDecision,
  start,
  step,
  volumeStatus,
  type Command,
  type RecoverySetup,
  type ResultEvent,
  type VolumeRecoveryState,
} from '../../common/rules/volume-recovery.js';
import type { CandidateReport, RestoredReplica, ScannedReplica } from '../../common/types.js';

const NODES = ['n1', 'n2', 'n3', 'n4'];
const setup = (expectedNodes: string[]): RecoverySetup => ({
  volumeId: 'v',
  epoch: 2,
  expectedNodes,
  peerWaitMs: 1_000,
  reviewDeadlineMs: 10_000,
});

/** Each node's copy, as its scan found it: it holds I/O from then on, so every offer repeats it. */
const arbReplica = fc
  .record({
    epoch: fc.integer({ min: 1, max: 2 }),
    writeSeq: fc.integer({ min: 0, max: 3 }),
    bad: fc.subarray([0, 1, 2]),
    dirty: fc.subarray([0, 1, 2]),
    digest: fc.constantFrom('a', 'b'),
    rebuilding: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  })
  .map((r): ScannedReplica => ({
    volumeId: 'v',
    sizeBytes: 4096 * 4,
    role: 'primary',
    epoch: r.epoch,
    writeSeq: r.writeSeq,
    badBlocks: r.bad,
    dirtyBadBlocks: r.bad.filter((b) => r.dirty.includes(b)),
    digest: r.digest,
    baseSnapshotId: null,
    rebuilding: r.rebuilding,
  }));
const arbFleet = fc.tuple(arbReplica, arbReplica, arbReplica, arbReplica);
/** A node offers its copy once per crash: each offer comes from another server recovery. */
const arbOffer = fc.record({ node: fc.integer({ min: 0, max: 3 }), crash: fc.integer({ min: 1, max: 2 }) });
const report = (fleet: ScannedReplica[], { node, crash }: { node: number; crash: number }): CandidateReport => ({
  nodeId: NODES[node]!,
  serverRecoveryId: `sr-${NODES[node]}-${crash}`,
  replica: fleet[node]!,
});

type Action =
  | { kind: 'offer'; offer: { node: number; crash: number } }
  | { kind: 'decide'; action: FinalAction }
  | { kind: 'snapshot'; id: string }
  | { kind: 'answer'; choice: number };

const arbAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: arbOffer.map((offer) => ({ kind: 'offer' as const, offer })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom<FinalAction>('enable-io', 'archive', 'transfer', 'delete')
      .map((action) => ({ kind: 'decide' as const, action })),
  },
  { weight: 1, arbitrary: fc.constantFrom('s1', 's2').map((id) => ({ kind: 'snapshot' as const, id })) },
  { weight: 8, arbitrary: fc.nat(63).map((choice) => ({ kind: 'answer' as const, choice })) },
);

const generation = (r: { epoch: number; writeSeq: number }) => r.epoch * 1_000 + r.writeSeq;

/** Drives the machine like the workflow does, and watches every command it issues. */
class Run {
  state: VolumeRecoveryState;
  inFlight: Command | null;
  clock = 0;
  winner: (RestoredReplica & { nodeId: string }) | null = null;
  superseded = false;
  transferTarget: string | null = null;
  enabledTarget = false;
  carriedOut = 0;
  notified = new Set<string>();
  offered = new Set<string>();
  /** Enabled or transferred: every other member is retired, and the inventory refuses its offer (`markCandidate`). */
  retired = false;
  waitedAfterDecision = false;
  repairedFrom = new Set<string>();

  constructor(
    private readonly fleet: ScannedReplica[],
    first: CandidateReport,
    expected: string[],
  ) {
    const begun = start(setup(expected), 0);
    this.state = begun.state;
    this.inFlight = begun.commands[0] ?? null;
    this.offer(first);
  }

  private apply(event: Parameters<typeof step>[1]): Command[] {
    const before = JSON.stringify(this.state);
    const next = step(this.state, event);
    expect(JSON.stringify(this.state)).toBe(before); // pure: the given state is untouched
    expect(JSON.stringify(step(JSON.parse(before) as VolumeRecoveryState, event))).toBe(JSON.stringify(next)); // deterministic
    this.state = next.state;
    volumeStatus(this.state);
    return next.commands;
  }

  offer(report: CandidateReport): void {
    if (outcome(this.state)) return; // the run ended: the offer starts a new one
    if (this.retired) return;
    this.offered.add(report.serverRecoveryId);
    const commands = this.apply({ type: 'copyOffered', report, at: this.clock });
    expect(commands.every((c) => c.type === 'notify')).toBe(true);
    commands.forEach((c) => this.watch(c));
  }

  external(action: Action): void {
    if (action.kind === 'offer') return this.offer(report(this.fleet, action.offer));
    if (action.kind === 'answer') return this.answer(action.choice);
    const request = action.kind === 'decide' ? { action: action.action } : { action: 'snapshot' as const, snapshotId: action.id };
    if (rejectDecision(this.state, request) !== null) return; // the validator turns it away: nothing changes
    const event =
      action.kind === 'decide'
        ? { type: 'decisionRequested' as const, action: action.action }
        : { type: 'snapshotRequested' as const, snapshotId: action.id };
    expect(this.apply({ ...event, at: this.clock })).toEqual([]);
  }

  answer(choice: number, drain = false): void {
    const command = this.inFlight;
    if (!command) return;
    const event = this.resultOf(command, choice, drain);
    if (!event) return;
    this.clock += 100;
    if (event.type === 'restored') this.winner = { ...event.replica, nodeId: (command as { nodeId: string }).nodeId };
    if (event.type === 'incidentChecked' && !event.current) this.superseded = true;
    if (event.type === 'copyAdded') this.transferTarget = event.target;
    if (event.type === 'archived') this.carriedOut++;
    if (command.type === 'waitForPeers' && this.decided()) this.waitedAfterDecision = true;
    const commands = this.apply({ ...event, at: this.clock });
    expect(commands.length).toBeLessThanOrEqual(1);
    this.inFlight = commands[0] ?? null;
    if (this.inFlight) this.watch(this.inFlight);
  }

  /** A plausible result; waits end only as a timer or the condition allows. */
  private resultOf(command: Command, choice: number, drain: boolean): ResultEvent | null {
    const fail = !drain && choice % 3 === 0;
    switch (command.type) {
      case 'waitForPeers':
        return peersReported(this.state) ? { type: 'peersReported' } : drain || fail ? { type: 'peerWaitElapsed' } : null;
      case 'waitForDecision':
        return decisionWakes(this.state) ? { type: 'decisionWoken' } : drain || choice % 8 === 0 ? { type: 'deadlinePassed' } : null;
      case 'checkIncident':
        return { type: 'incidentChecked', current: drain || choice % 5 !== 0 };
      case 'restoreCopy':
        return { type: 'restored', replica: this.restored(command, choice) };
      case 'deleteCopy':
        return { type: 'copyDeleted', deleted: !fail };
      case 'readSettings':
        return { type: 'settingsRead', autoEnableIo: choice % 2 === 0 };
      case 'takeSnapshot':
        return { type: 'snapshotTaken', ok: !fail };
      case 'joinAsSecondary':
        return { type: fail ? 'twinTimedOut' : 'twinJoined' };
      case 'archive':
        return fail ? { type: 'stepFailed', message: 'store unreachable' } : { type: 'archived', snapshotId: 'snap-x' };
      case 'addCopy':
        return { type: 'copyAdded', target: fail ? null : 'n9' };
      case 'repairCopy':
        return { type: 'lateRepaired', repaired: command.blocks.filter((_, i) => (choice >> i) & 1) };
      default:
        return { type: 'stepDone' };
    }
  }

  private restored(command: Extract<Command, { type: 'restoreCopy' }>, choice: number): RestoredReplica {
    const scanned = this.state.copies.candidates.find((c) => c.nodeId === command.nodeId)!.replica;
    const fromPeers = command.repairFrom.flatMap((r) => r.blocks);
    const lost = scanned.dirtyBadBlocks.filter((b) => !fromPeers.includes(b));
    const base = choice % 2 === 0 ? { snapshotId: 'base', writeSeq: scanned.writeSeq, digest: scanned.digest } : null;
    return {
      ...scanned,
      badBlocks: lost,
      repairedFromPeer: fromPeers.length,
      repairedFromSnapshot: 0,
      blocksFromBase: 0,
      unrecoverableBlocks: lost,
      base,
    };
  }

  /** The safety invariants, checked on every command the machine issues. */
  private watch(command: Command): void {
    if (command.type === 'notify') this.notified.add(command.serverRecoveryId);
    if (command.type === 'deleteCopy') this.checkDeletion(command.nodeId);
    if (command.type === 'enableCopy') this.checkEnable(command.nodeId);
    if (command.type === 'repairCopy') this.repairedFrom.add(command.from);
    if (command.type === 'recordEnabled') this.checkNothingLeftOut();
    if (command.type === 'recordEnabled' || command.type === 'recordTransferred') this.retired = true;
    if (command.type === 'recordEnabled' || command.type === 'recordTransferred' || command.type === 'deleteVolume') this.carriedOut++;
    expect(this.carriedOut).toBeLessThanOrEqual(1); // a decision is carried out at most once
  }

  /** Never delete the last copy holding the highest generation. */
  private checkDeletion(nodeId: string): void {
    if (this.superseded) return; // the volume serves from another copy
    if (this.enabledTarget && nodeId === this.winner?.nodeId) return; // a transfer's old copy, after the new one serves
    expect(this.winner, 'a copy deleted before the winner was restored').not.toBeNull();
    expect(nodeId).not.toBe(this.winner!.nodeId);
    const copy = this.state.copies.candidates.find((c) => c.nodeId === nodeId)!.replica;
    const decided = this.decided();
    const lost = this.lostBlocks();
    const holdsLost = generation(copy) === generation(this.winner!) && lost.some((b) => !copy.badBlocks.includes(b));
    if (holdsLost && decided?.action === 'enable-io')
      expect(this.repairedFrom, 'a twin holding lost blocks deleted unasked').toContain(nodeId);
    if (!decided && !copy.rebuilding && !this.winner!.rebuilding) expect(generation(copy)).toBeLessThanOrEqual(generation(this.winner!));
  }

  /** A copy still out that may hold blocks the restore lost gets the peer wait before enabling retires it. */
  private checkNothingLeftOut(): void {
    if (this.lostBlocks().length > 0)
      expect(peersReported(this.state) || this.waitedAfterDecision, 'enabled before the peer wait').toBe(true);
  }

  /** Never an enable without a restored winner (or a transfer's rebuilt copy) and a decision to enable. */
  private checkEnable(nodeId: string): void {
    const decision = this.decided();
    expect(decision).not.toBeNull();
    if (decision!.action === 'transfer') {
      expect(nodeId).toBe(this.transferTarget);
      this.enabledTarget = true;
    } else {
      expect(decision!.action).toBe('enable-io');
      expect(nodeId).toBe(this.winner?.nodeId);
    }
  }

  private lostBlocks(): number[] {
    const stage = this.state.stage;
    return stage.phase === 'configuration' ? stage.authority.winner.replica.unrecoverableBlocks : [];
  }

  private decided() {
    const stage = this.state.stage;
    return stage.phase === 'configuration' || stage.phase === 'done' ? (stage.review?.decision ?? null) : null;
  }

  /** Answers everything with success and lets every timer fire, until the end. */
  drain(): void {
    for (let i = 0; i < 500 && this.inFlight; i++) this.answer(1, true);
  }
}

const arbRun = fc.record({
  fleet: arbFleet,
  first: arbOffer,
  expected: fc.subarray(NODES, { minLength: 1 }),
  actions: fc.array(arbAction, { minLength: 10, maxLength: 150, size: 'max' }),
});

describe('the volume recovery machine', () => {
  it('keeps its safety invariants at every step, and ends once the deadline is delivered', () => {
    fc.assert(
      fc.property(arbRun, ({ fleet, first, expected, actions }) => {
        const run = new Run(fleet, report(fleet, first), expected);
        for (const action of actions) run.external(action);
        run.drain();
        expect(run.inFlight).toBeNull();
        expect(outcome(run.state)).not.toBeNull();
        for (const id of run.offered) expect(run.notified, `server recovery ${id} never told`).toContain(id);
      }),
      { numRuns: 400 },
    );
  });

  it('answers a decision once: the same decision twice gets the same result, never a second carry-out', () => {
    fc.assert(
      fc.property(
        arbRun,
        fc.constantFrom<FinalAction>('enable-io', 'archive', 'transfer', 'delete'),
        ({ fleet, first, expected, actions }, action) => {
          const run = new Run(fleet, report(fleet, first), expected);
          for (const a of actions) run.external(a);
          run.external({ kind: 'decide', action });
          const decision = run.state.stage.phase === 'configuration' ? run.state.stage.review.decision : null;
          run.external({ kind: 'decide', action });
          run.drain();
          if (decision) {
            const answer = decisionAnswer(run.state, decision.id);
            expect(answer).not.toBeNull();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('elects the lone candidate once the peer wait elapses', () => {
    const lone: ScannedReplica = {
      volumeId: 'v',
      sizeBytes: 4096,
      role: 'primary',
      epoch: 2,
      writeSeq: 3,
      badBlocks: [],
      dirtyBadBlocks: [],
      digest: 'a',
      baseSnapshotId: null,
      rebuilding: false,
    };
    const run = new Run([lone], report([lone], { node: 0, crash: 1 }), ['n1', 'n2']);
    run.answer(1); // setPhase
    expect(run.inFlight).toEqual({ type: 'waitForPeers', timeoutMs: 1_000 });
    run.answer(0); // the timer fires
    run.answer(1); // setPhase recovery
    expect(run.inFlight).toEqual({ type: 'checkIncident', epoch: 2 });
    run.answer(1);
    expect(run.inFlight).toEqual({ type: 'restoreCopy', nodeId: 'n1', repairFrom: [] });
  });
});
