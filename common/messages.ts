// Message definitions, task queues and search attributes shared by the API and the workflows.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CandidateReport, ScanReport, StoredReport } from './types.js';

export const CONTROL_TASK_QUEUE = 'blackstart-control';
/**
 * Server recoveries (and what they start as children) on a queue of their own: a fleet outage
 * starts a volume recovery per volume on the control queue, and a server recovery's workflow tasks
 * must not wait behind that backlog — the node serves again only when its recovery gets there.
 */
export const SERVER_RECOVERY_TASK_QUEUE = 'blackstart-server-recovery';
export const DATA_TASK_QUEUE = 'blackstart-data';
/** Snapshots of serving volumes: their own bounded queue, so they never take a recovery restore's slot. */
export const SNAPSHOT_TASK_QUEUE = 'blackstart-snapshots';

export const RECOVERY_PHASES = ['notice', 'investigation', 'recovery', 'configuration'] as const;
export type RecoveryPhase = (typeof RECOVERY_PHASES)[number];

export const RecoveryPhaseKey = defineSearchAttributeKey('RecoveryPhase', SearchAttributeType.KEYWORD);
export const StorageNodeKey = defineSearchAttributeKey('StorageNode', SearchAttributeType.KEYWORD);
export const VolumeIdKey = defineSearchAttributeKey('VolumeId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = { RecoveryPhase: 'Keyword', StorageNode: 'Keyword', VolumeId: 'Keyword' } as const;

export const phaseQuery = defineQuery<RecoveryPhase>('phase');

/** serverRecovery: the node's admitted report (sent with signal-with-start). */
/** A stored report (the API's since issue 14), or the whole scan (histories recorded before). */
export const reportSignal = defineSignal<[ScanReport | StoredReport]>('report');

/**
 * serverRecovery: a volume recovery settled this node's copy (deleted, or decided by the customer).
 * Sent only for offers made before offers were recorded (incident_offers); since, an incident
 * hears offersResolved once.
 */
export const copyResolvedSignal = defineSignal<[{ volumeId: string; outcome: string }]>('copyResolved');

/**
 * serverRecovery: the last offer it had made so far was resolved. A hint to re-read the inventory
 * at once: offers still being made when it was sent are waited for as before.
 */
export const offersResolvedSignal = defineSignal('offersResolved');

/**
 * serverRecovery: a newer incident of its node was admitted. Only a hint to re-read the inventory
 * at once (the inventory, not the signal, says whether it is superseded).
 */
export const supersededSignal = defineSignal<[{ by: number }]>('superseded');

/** volumeRecovery: a node offers its copy. */
export const candidateSignal = defineSignal<[CandidateReport]>('candidate');

/**
 * A customer's decision on a restored volume. `snapshot` leaves the volume waiting for another
 * decision; the others end the review.
 */
export const DECISION_ACTIONS = ['enable-io', 'snapshot', 'archive', 'transfer', 'delete'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];
export type FinalAction = Exclude<DecisionAction, 'snapshot'>;

export interface DecisionRequest {
  action: DecisionAction;
  /** For `snapshot`: the id the API recorded for it. */
  snapshotId?: string;
}

export interface DecisionResult {
  action: DecisionAction;
  alreadyApplied: boolean;
  /** The volume's epoch after enable-io or transfer. */
  epoch?: number;
  /** The snapshot taken (snapshot) or the archive. */
  snapshotId?: string;
  /** Where the volume serves from after enable-io or transfer. */
  nodeId?: string;
}
export const decideUpdate = defineUpdate<DecisionResult, [DecisionRequest]>('decide');

/** How a review ended: by the customer, by proof (auto-enable) or by the deadline (archive). */
export type ReviewOutcome = { action: FinalAction; by: 'customer' | 'proof' | 'deadline' };

export interface VolumeRecoveryStatus {
  phase: RecoveryPhase;
  volumeId: string;
  candidates: string[];
  winner: string | null;
  proof: string | null;
  awaitingDecision: boolean;
  decision: ReviewOutcome | null;
  /** When an undecided review archives the volume (ISO time), once the copy is restored. */
  reviewDeadline: string | null;
  unrecoverableBlocks: number[];
}
export const volumeStatusQuery = defineQuery<VolumeRecoveryStatus>('volumeStatus');

export function serverRecoveryId(nodeId: string, incident: number): string {
  return `server-recovery-${nodeId}-${incident}`;
}

export function volumeRecoveryId(volumeId: string, epoch: number): string {
  return `volume-recovery-${volumeId}-e${epoch}`;
}

/** Is `workflowId` a recovery of this volume (at any epoch)? */
export function isVolumeRecoveryOf(workflowId: string, volumeId: string): boolean {
  const prefix = `volume-recovery-${volumeId}-e`;
  return workflowId.startsWith(prefix) && /^\d+$/.test(workflowId.slice(prefix.length));
}

export function volumeRebuildId(volumeId: string, epoch: number): string {
  return `volume-rebuild-${volumeId}-e${epoch}`;
}

export function snapshotWorkflowId(snapshotId: string): string {
  return `volume-snapshot-${snapshotId}`;
}

export function volumeDeletionId(volumeId: string): string {
  return `volume-deletion-${volumeId}`;
}

export function snapshotPolicyScheduleId(volumeId: string): string {
  return `snapshot-policy-${volumeId}`;
}

export function nodeFailoverId(nodeId: string, incident: number): string {
  return `node-failover-${nodeId}-${incident}`;
}

export function peerDropId(volumeId: string, epoch: number): string {
  return `peer-drop-${volumeId}-e${epoch}`;
}
