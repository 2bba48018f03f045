import type { CandidateReport } from '../types.js';

/** Where a restore takes a block whose CRC failed on the elected copy. */
export type RepairSource = { from: 'peer'; nodeId: string } | { from: 'snapshot' } | { from: 'unrecoverable' };

/**
 * A bad block comes from another complete copy (not one being rebuilt) at the same (epoch,
 * writeSeq) whose CRC for it verifies (the same writes in the same order: the same bytes); else, when the block was not written
 * since the copy's base snapshot, from that snapshot (or zeros without one); else it cannot be
 * repaired, and the restore reports it.
 */
export function planRepairs(winner: CandidateReport, others: CandidateReport[]): Map<number, RepairSource> {
  const dirty = new Set(winner.replica.dirtyBadBlocks);
  const twins = others
    .filter(
      (o) =>
        o.nodeId !== winner.nodeId &&
        !o.replica.rebuilding &&
        o.replica.epoch === winner.replica.epoch &&
        o.replica.writeSeq === winner.replica.writeSeq,
    )
    .map((o) => ({ nodeId: o.nodeId, bad: new Set(o.replica.badBlocks) }))
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  const plan = new Map<number, RepairSource>();
  for (const block of winner.replica.badBlocks) {
    const twin = twins.find((t) => !t.bad.has(block));
    plan.set(block, twin ? { from: 'peer', nodeId: twin.nodeId } : dirty.has(block) ? { from: 'unrecoverable' } : { from: 'snapshot' });
  }
  return plan;
}

/** The blocks to fetch from each peer, for the restore request. */
export function blocksByPeer(plan: Map<number, RepairSource>): Map<string, number[]> {
  const byPeer = new Map<string, number[]>();
  for (const [block, source] of plan) {
    if (source.from === 'peer') byPeer.set(source.nodeId, [...(byPeer.get(source.nodeId) ?? []), block]);
  }
  return byPeer;
}
