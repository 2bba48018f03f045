// What a volume recovery's current details say at each wait: the peers and their deadline, the
// restore, the owner's decision and its deadline — read from the machine's state, changing none of it.
import { describe, expect, it } from 'vitest';
import { currentDetails } from '../../common/rules/volume-recovery-details.js';
import { start, step, type Command, type ResultEvent, type VolumeRecoveryState } from '../../common/rules/volume-recovery.js';
import type { CandidateReport, ScannedReplica } from '../../common/types.js';

const PEER_WAIT = 300_000;
const REVIEW = 7 * 24 * 3600_000;
const replica: ScannedReplica = {
  volumeId: 'vol-1',
  sizeBytes: 16384,
  role: 'primary',
  epoch: 3,
  writeSeq: 42,
  badBlocks: [],
  dirtyBadBlocks: [],
  digest: 'd',
  baseSnapshotId: null,
  rebuilding: false,
};
const offer = (nodeId: string): CandidateReport => ({ nodeId, serverRecoveryId: `sr-${nodeId}`, replica });

/** The result a cooperative world gives each command (no proof, the incident current; `lost`: blocks the restore could not repair). */
function resultOf(c: Command, lost: number[]): ResultEvent {
  switch (c.type) {
    case 'waitForPeers':
      return { type: 'peerWaitElapsed' };
    case 'checkIncident':
      return { type: 'incidentChecked', current: true };
    case 'restoreCopy':
      return {
        type: 'restored',
        replica: {
          ...replica,
          badBlocks: lost,
          repairedFromPeer: 0,
          repairedFromSnapshot: 0,
          blocksFromBase: 0,
          unrecoverableBlocks: lost,
          base: null,
        },
      };
    case 'deleteCopy':
      return { type: 'copyDeleted', deleted: true };
    case 'waitForDecision':
      return { type: 'decisionWoken' };
    default:
      return { type: 'stepDone' };
  }
}

class Drive {
  state: VolumeRecoveryState;
  command: Command | null;
  clock = 1_000;

  constructor(
    expected: string[],
    private readonly lost: number[] = [],
  ) {
    const begun = start({ volumeId: 'vol-1', epoch: 3, expectedNodes: expected, peerWaitMs: PEER_WAIT, reviewDeadlineMs: REVIEW }, 0);
    this.state = begun.state;
    this.command = begun.commands[0] ?? null;
  }

  /** Answers commands until one of type `until` is in flight (or the run ends). */
  until(until: Command['type'] | 'end'): string {
    while (this.command && this.command.type !== until) {
      const next = step(this.state, { ...resultOf(this.command, this.lost), at: (this.clock += 10) });
      this.state = next.state;
      this.command = next.commands[0] ?? null;
    }
    return this.details();
  }

  offer(nodeId: string): void {
    this.state = step(this.state, { type: 'copyOffered', report: offer(nodeId), at: this.clock }).state;
  }

  decide(): void {
    this.state = step(this.state, { type: 'decisionRequested', action: 'enable-io', at: this.clock }).state;
  }

  details(): string {
    const before = JSON.stringify(this.state);
    const text = currentDetails(this.state);
    expect(JSON.stringify(this.state)).toBe(before);
    return text;
  }
}

describe('volume recovery current details', () => {
  it('when it waits for peers, then it names the copies not yet reported and the wait deadline', () => {
    const run = new Drive(['n1', 'n2', 'n3']);
    run.offer('n1');
    const details = run.until('waitForPeers');
    expect(details).toContain('**Investigation**');
    expect(details).toContain('waiting for the copies on n2, n3 to be reported');
    expect(details).toContain(`until ${new Date(run.state.now + PEER_WAIT).toISOString()}`);
    expect(details).toContain('n1 (epoch 3, writeSeq 42)');
    run.offer('n2');
    expect(run.details()).toContain('waiting for the copies on n3 to be reported');
  });

  it('when it restores, then it names the copy restored', () => {
    const run = new Drive(['n1']);
    run.offer('n1');
    expect(run.until('restoreCopy')).toContain('waiting for the restore of the copy on n1 (read-only, I/O held)');
    expect(run.details()).toContain('**Recovery**');
  });

  it('when it waits for the owner, then it names the restored copy and the review deadline', () => {
    const run = new Drive(['n1', 'n2']);
    run.offer('n1');
    const details = run.until('waitForDecision');
    const deadline = (run.command as Extract<Command, { type: 'waitForDecision' }>).deadline;
    expect(details).toContain('**Configuration**');
    expect(details).toContain('restored on n1 (epoch 3, writeSeq 42), I/O held');
    expect(details).toContain(
      `waiting for the owner's decision (enable-io, snapshot, archive, transfer, delete) until ${new Date(deadline).toISOString()}`,
    );
  });

  it('when the owner decides, then it says what is carried out, and at the end the outcome', () => {
    const run = new Drive(['n1']);
    run.offer('n1');
    run.until('waitForDecision');
    run.decide();
    expect(run.until('enableCopy')).toContain('enabling I/O on n1 at epoch 4');
    const end = run.until('end');
    expect(end).toContain('**Done**');
    expect(end).toContain('enable-io (customer) — winner n1, epoch 4');
  });

  it('when the owner enables a copy with lost blocks while a copy is still out, then it says it waits for that copy first', () => {
    const run = new Drive(['n1', 'n2'], [5]);
    run.offer('n1');
    run.until('waitForDecision');
    run.decide();
    const details = run.until('waitForPeers');
    expect(details).toContain('**Configuration**');
    expect(details).toContain(
      'enable-io decided: waiting for the copies on n2, which may hold the 1 block(s) the restore could not repair',
    );
    expect(details).toContain('then I/O is enabled');
  });
});
