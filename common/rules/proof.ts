import type { CandidateReport } from '../types.js';

export interface CopyDigest {
  nodeId: string;
  epoch: number;
  writeSeq: number;
  digest: string;
}

/**
 * Provably no data loss: a second copy agrees with the restored one on epoch, writeSeq and
 * content digest, and the restored copy has no bad blocks. Returns the proof, or null.
 */
export function proveNoDataLoss(winner: CandidateReport, digests: CopyDigest[]): string | null {
  if (winner.replica.badBlocks.length > 0) return null;
  const own = digests.find((d) => d.nodeId === winner.nodeId);
  if (!own) return null;
  const twin = digests.find(
    (d) => d.nodeId !== own.nodeId && d.epoch === own.epoch && d.writeSeq === own.writeSeq && d.digest === own.digest,
  );
  if (!twin) return null;
  return `copies on ${own.nodeId} and ${twin.nodeId} agree on epoch ${own.epoch}, writeSeq ${own.writeSeq}, sha256 ${own.digest}`;
}

export interface SnapshotRef {
  snapshotId: string;
  writeSeq: number;
  digest: string;
}

/**
 * Also provably no data loss: the restored copy, with no bad blocks left, equals its latest
 * snapshot byte for byte and took no write since (same writeSeq, same digest).
 */
export function proveBySnapshot(winner: CandidateReport, snapshot: SnapshotRef | null): string | null {
  if (!snapshot || winner.replica.badBlocks.length > 0) return null;
  if (winner.replica.writeSeq !== snapshot.writeSeq || winner.replica.digest !== snapshot.digest) return null;
  return `copy on ${winner.nodeId} equals snapshot ${snapshot.snapshotId} at writeSeq ${snapshot.writeSeq}, sha256 ${snapshot.digest}`;
}

/** Copies worth digesting for a proof: those at the winner's (epoch, writeSeq). */
export function twinsOf(winner: CandidateReport, candidates: CandidateReport[]): CandidateReport[] {
  return candidates.filter((c) => c.replica.epoch === winner.replica.epoch && c.replica.writeSeq === winner.replica.writeSeq);
}
