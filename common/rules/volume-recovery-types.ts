// The volume recovery machine's vocabulary: its state (one variant per phase), the events it
// consumes and the commands it asks the workflow to run. Plain data: the state is JSON.
import type { DecisionResult, FinalAction, RecoveryPhase, ReviewOutcome } from '../messages.js';
import type { CandidateReport, RestoredReplica } from '../types.js';

export interface RecoverySetup {
  volumeId: string;
  /** The incident's epoch: the volume's epoch when its copies were offered. */
  epoch: number;
  expectedNodes: string[];
  peerWaitMs: number;
  reviewDeadlineMs: number;
  /**
   * Set only for a recovery started before the `volume-recovery-twin-wait-before-enable` patch:
   * it replays its enable-io as recorded, the peer wait after enabling instead of before.
   */
  twinWaitAfterEnable?: true;
}

export type Winner = CandidateReport & { replica: RestoredReplica };

/** A decision numbered so that an Update waiting on it knows whether *its* attempt failed. */
export type Decision = ReviewOutcome & { id: number };

export interface RecoveryOutcome {
  winner: string;
  decision: string;
  epoch: number;
}

/** The restored copy and what follows from it. */
export interface Authority {
  winner: Winner;
  proof: string | null;
  /** A copy identical to the winner, kept to become its secondary if I/O is enabled (no rebuild). */
  standby: CandidateReport | null;
}

export interface Review {
  /** When an undecided review archives; pushed back a minute after a failed deadline archive. */
  deadline: number;
  /** The deadline the customer was told. */
  announcedDeadline: number;
  /** Being carried out, or carried out; null while the volume waits for one. */
  decision: Decision | null;
  nextDecisionId: number;
  result: DecisionResult | null;
  failure: { decision: number; message: string } | null;
  snapshotQueue: string[];
  /** Review snapshots taken (true) or failed (false), by id. */
  snapshots: Record<string, boolean>;
}

export type Stage =
  | { phase: 'investigation' }
  | { phase: 'recovery'; authority: Authority | null }
  | { phase: 'configuration'; authority: Authority; review: Review }
  | { phase: 'done'; reported: RecoveryPhase; authority: Authority | null; review: Review | null; outcome: RecoveryOutcome };

export interface Copies {
  /** Every copy offered, in offer order; a node that offers again replaces its report in place. */
  candidates: CandidateReport[];
  /** Every server recovery that offered a node's copy (a node that crashes again offers anew). */
  offers: { nodeId: string; serverRecoveryIds: string[] }[];
  /** Copies dealt with (deleted, kept, or the winner once decided) and what became of them. */
  settled: { nodeId: string; outcome: string }[];
}

export type RepairFrom = { nodeId: string; blocks: number[] }[];

export type Command =
  | { type: 'setPhase'; phase: RecoveryPhase }
  | { type: 'waitForPeers'; timeoutMs: number }
  | { type: 'waitForDecision'; deadline: number }
  | { type: 'checkIncident'; epoch: number }
  | { type: 'restoreCopy'; nodeId: string; repairFrom: RepairFrom }
  | { type: 'recordRestored'; nodeId: string; writeSeq: number }
  | { type: 'recordUnrecoverable'; nodeId: string; blocks: number[] }
  | { type: 'deleteCopy'; nodeId: string; reason: string }
  | { type: 'notify'; serverRecoveryId: string; outcome: string }
  | { type: 'readSettings' }
  | { type: 'takeSnapshot'; snapshotId: string; nodeId: string }
  | { type: 'joinAsSecondary'; nodeId: string; epoch: number }
  | { type: 'enableCopy'; nodeId: string; epoch: number; secondary?: string }
  | { type: 'recordEnabled'; nodeId: string; epoch: number; auto: boolean; proof: string | null; secondary?: string }
  | { type: 'rebuildSecondary'; source: string; epoch: number }
  | { type: 'archive'; nodeId: string; by: string }
  | { type: 'deleteVolume'; by: string }
  | { type: 'addCopy'; source: string; epoch: number }
  | { type: 'recordTransferred'; nodeId: string; epoch: number; by: string }
  | { type: 'repairCopy'; nodeId: string; from: string; blocks: number[] }
  | { type: 'recordLateRepair'; nodeId: string; from: string; blocks: number[] };

/** Signals and Updates: they change what the machine knows, never wait on anything. */
export type ExternalEvent =
  | { type: 'copyOffered'; report: CandidateReport }
  | { type: 'decisionRequested'; action: FinalAction }
  | { type: 'snapshotRequested'; snapshotId: string };

/** The outcome of the command in flight. */
export type ResultEvent =
  | { type: 'stepDone' }
  | { type: 'peersReported' }
  | { type: 'peerWaitElapsed' }
  | { type: 'incidentChecked'; current: boolean }
  | { type: 'restored'; replica: RestoredReplica }
  | { type: 'copyDeleted'; deleted: boolean }
  | { type: 'settingsRead'; autoEnableIo: boolean }
  | { type: 'snapshotTaken'; ok: boolean }
  | { type: 'twinJoined' }
  | { type: 'twinTimedOut' }
  | { type: 'archived'; snapshotId: string }
  | { type: 'copyAdded'; target: string | null }
  | { type: 'lateRepaired'; repaired: number[] }
  | { type: 'decisionWoken' }
  | { type: 'deadlinePassed' }
  /** A decision's step failed for good (e.g. the archive snapshot): the volume waits again. */
  | { type: 'stepFailed'; message: string };

/** `at`: the workflow's clock when the event happened. */
export type RecoveryEvent = (ExternalEvent | ResultEvent) & { at: number };

/** Which results answer which command. */
export const RESULTS: { [K in Command['type']]: ResultEvent['type'][] } = {
  setPhase: ['stepDone'],
  waitForPeers: ['peersReported', 'peerWaitElapsed'],
  waitForDecision: ['decisionWoken', 'deadlinePassed'],
  checkIncident: ['incidentChecked'],
  restoreCopy: ['restored'],
  recordRestored: ['stepDone'],
  recordUnrecoverable: ['stepDone'],
  deleteCopy: ['copyDeleted'],
  notify: ['stepDone'],
  readSettings: ['settingsRead'],
  takeSnapshot: ['snapshotTaken'],
  joinAsSecondary: ['twinJoined', 'twinTimedOut'],
  enableCopy: ['stepDone'],
  recordEnabled: ['stepDone'],
  rebuildSecondary: ['stepDone'],
  archive: ['archived', 'stepFailed'],
  deleteVolume: ['stepDone'],
  addCopy: ['copyAdded'],
  recordTransferred: ['stepDone'],
  repairCopy: ['lateRepaired'],
  recordLateRepair: ['stepDone'],
};

/**
 * What the machine still has to do, front first: a saga's list of steps. A step either runs
 * at once (pure) or issues one command and waits for its result.
 */
export type Task =
  | { t: 'enter'; phase: 'recovery' | 'configuration' }
  | { t: 'effect'; command: Command }
  | { t: 'waitForPeers' }
  | { t: 'checkIncident' }
  | { t: 'discardEach'; index: number }
  | { t: 'discard'; nodeId: string; reason?: string }
  | { t: 'resolve'; nodeId: string; outcome: string }
  | { t: 'notifyOffers'; nodeId: string; outcome: string; index: number }
  | { t: 'restore'; elected: CandidateReport; all?: CandidateReport[] }
  | { t: 'settle' }
  | { t: 'settleOne'; copy: CandidateReport }
  | { t: 'dropStandbyUnlessIdentical' }
  | { t: 'forgetStandby' }
  | { t: 'repairFromLate'; copy: CandidateReport; lost?: number[] }
  | { t: 'reviewRound' }
  | { t: 'takeSnapshots'; snapshotId?: string }
  | { t: 'decideOrWait' }
  | { t: 'waitForDecision' }
  | { t: 'carryOut' }
  | { t: 'joinTwin'; epoch: number }
  | { t: 'enable'; epoch: number; secondary?: string }
  | { t: 'afterEnable'; epoch: number }
  | { t: 'archive' }
  | { t: 'transfer' }
  | { t: 'dropOldCopy'; nodeId: string; reason: string }
  | { t: 'finishDecision'; result: DecisionResult }
  | { t: 'closeReview' }
  | { t: 'settleRest' };

export interface VolumeRecoveryState {
  setup: RecoverySetup;
  /** The `at` of the last result: the workflow's clock for deadlines. */
  now: number;
  stage: Stage;
  copies: Copies;
  agenda: Task[];
  /** The one command the machine waits on, and the step that issued it. */
  inFlight: { task: Task; command: Command } | null;
}
