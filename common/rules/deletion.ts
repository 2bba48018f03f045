// The re-check that guards every deletion of a copy, run in its own step right before it.

export interface CopyState {
  nodeId: string;
  /** A member is still part of the volume's membership (not stale, not deleted). */
  member: boolean;
  /** Serving I/O on a node that is in service. */
  healthy: boolean;
  /** Elected and restored by a volume recovery: durable, read-only, the authority. */
  restored: boolean;
}

/**
 * A copy may be deleted only when it cannot be the last one holding data no other copy has:
 * the volume is gone (deleted, or archived: its bytes are durable in the snapshot store), the copy left the membership (stale), or another member is healthy or
 * is the restored authoritative copy. The restored copy itself is never deleted this way.
 */
export function mayDeleteCopy(volumeGone: boolean, nodeId: string, copies: CopyState[]): boolean {
  if (volumeGone) return true;
  const self = copies.find((c) => c.nodeId === nodeId);
  if (!self || !self.member) return true;
  if (self.restored) return false;
  return copies.some((c) => c.nodeId !== nodeId && c.member && (c.healthy || c.restored));
}
