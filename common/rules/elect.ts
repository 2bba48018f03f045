import type { CandidateReport } from '../types.js';

/**
 * Orders copies by authority: a copy whose rebuild did not finish last (it may lack data
 * whatever its generation says); then highest (epoch, writeSeq) — monotonic generations,
 * never clocks or sizes — then fewest bad blocks, then node id so the order is total.
 */
export function compareAuthority(a: CandidateReport, b: CandidateReport): number {
  return (
    Number(a.replica.rebuilding) - Number(b.replica.rebuilding) ||
    b.replica.epoch - a.replica.epoch ||
    b.replica.writeSeq - a.replica.writeSeq ||
    a.replica.badBlocks.length - b.replica.badBlocks.length ||
    (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0)
  );
}

/**
 * A copy that arrives after the election takes over only when it holds strictly more:
 * a higher (epoch, writeSeq), or as much with fewer bad blocks — never on the id tie-break.
 */
export function supersedes(late: CandidateReport, winner: CandidateReport): boolean {
  const order = compareAuthority(late, winner);
  const tieBreakOnly =
    late.replica.rebuilding === winner.replica.rebuilding &&
    late.replica.epoch === winner.replica.epoch &&
    late.replica.writeSeq === winner.replica.writeSeq &&
    late.replica.badBlocks.length === winner.replica.badBlocks.length;
  return order < 0 && !tieBreakOnly;
}

export interface Election {
  winner: CandidateReport;
  losers: CandidateReport[];
}

export function electAuthoritative(candidates: CandidateReport[]): Election | null {
  if (candidates.length === 0) return null;
  const [winner, ...losers] = [...candidates].sort(compareAuthority);
  return { winner: winner!, losers };
}

/** The waiting rule: elect once every expected holder reported, or the deadline passed. */
export function allPeersReported(expectedNodes: string[], reported: string[]): boolean {
  return expectedNodes.every((n) => reported.includes(n));
}
