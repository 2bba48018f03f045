// Message definitions, task queues and search attributes shared by the API and the workflows.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CandidateReport, ScanReport } from './types.js';

export const CONTROL_TASK_QUEUE = 'blackstart-control';
export const DATA_TASK_QUEUE = 'blackstart-data';

export const RECOVERY_PHASES = ['notice', 'investigation', 'recovery', 'configuration'] as const;
export type RecoveryPhase = (typeof RECOVERY_PHASES)[number];

export const RecoveryPhaseKey = defineSearchAttributeKey('RecoveryPhase', SearchAttributeType.KEYWORD);
export const StorageNodeKey = defineSearchAttributeKey('StorageNode', SearchAttributeType.KEYWORD);
export const VolumeIdKey = defineSearchAttributeKey('VolumeId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = { RecoveryPhase: 'Keyword', StorageNode: 'Keyword', VolumeId: 'Keyword' } as const;

export const phaseQuery = defineQuery<RecoveryPhase>('phase');

/** serverRecovery: the node's admitted report (sent with signal-with-start). */
export const reportSignal = defineSignal<[ScanReport]>('report');

/** serverRecovery: a volume recovery settled this node's copy (deleted, or decided by the customer). */
export const copyResolvedSignal = defineSignal<[{ volumeId: string; outcome: string }]>('copyResolved');

/** volumeRecovery: a node offers its copy. */
export const candidateSignal = defineSignal<[CandidateReport]>('candidate');

export type CustomerDecision = 'enable-io';
export interface DecisionResult {
  decision: CustomerDecision;
  epoch: number;
  alreadyApplied: boolean;
}
export const enableIoUpdate = defineUpdate<DecisionResult, []>('enableIo');

export interface VolumeRecoveryStatus {
  phase: RecoveryPhase;
  volumeId: string;
  candidates: string[];
  winner: string | null;
  proof: string | null;
  awaitingDecision: boolean;
  decision: CustomerDecision | 'auto-enable' | null;
}
export const volumeStatusQuery = defineQuery<VolumeRecoveryStatus>('volumeStatus');

export function serverRecoveryId(nodeId: string, incident: number): string {
  return `server-recovery-${nodeId}-${incident}`;
}

export function volumeRecoveryId(volumeId: string, epoch: number): string {
  return `volume-recovery-${volumeId}-e${epoch}`;
}

export function nodeFailoverId(nodeId: string, incident: number): string {
  return `node-failover-${nodeId}-${incident}`;
}
