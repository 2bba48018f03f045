// Group commit: the state of a primary's writes between "applied here" and "acknowledged".
// A write is applied in sequence order, made durable here by a sync that started after it was
// applied, then sent to the peer in a batch; the peer's answer (or the peer's removal: then this
// copy acknowledges alone) acknowledges it at once. One sync and one batch are in flight at a
// time; the writes applied or synced meanwhile form the next ones. A batch carries only writes
// durable here, so an acknowledgement never waits on this copy after the peer confirmed: the old
// primary answers within one round trip of the peer's last confirmation at its epoch, which the
// split-brain check relies on (chaos seed 91207 scenario 6 caught a write acknowledged 1.2 s
// after its secondary had been promoted, waiting for the old primary's slow sync). A pure model: the driver
// (service/write-pipeline.ts) does the I/O and reports back; test/unit/group-commit.test.ts
// checks every interleaving of arrivals, syncs, answers and crashes.

export interface CommitState {
  /** The highest sequence number applied to this copy (page cache), in order. */
  readonly applied: number;
  /** Every write up to here is durable on this copy. */
  readonly durable: number;
  /** Every write up to here is durable on the peer, or needs no peer. */
  readonly mirrored: number;
  /** The last write the sync in flight covers; null when none runs. */
  readonly syncing: number | null;
  /** The last write of the mirror batch in flight; null when none is sent. */
  readonly sending: number | null;
}

/** A copy whose writes up to `seq` are durable on both sides (a new primary, or one that just opened). */
export function settledAt(seq: number): CommitState {
  return { applied: seq, durable: seq, mirrored: seq, syncing: null, sending: null };
}

/** Nothing is in flight and nothing waits: the state may be re-based on the copy's own writeSeq. */
export function isIdle(s: CommitState): boolean {
  return s.syncing === null && s.sending === null && s.durable === s.applied && s.mirrored === s.applied;
}

export function apply(s: CommitState, seq: number): CommitState {
  if (seq !== s.applied + 1) throw new Error(`write ${seq} applied out of order after ${s.applied}`);
  return { ...s, applied: seq };
}

/** A sync to start now, covering every write applied so far; null while one runs or none is needed. */
export function nextSync(s: CommitState): number | null {
  return s.syncing === null && s.applied > s.durable ? s.applied : null;
}

export function syncStarted(s: CommitState, upTo: number): CommitState {
  return { ...s, syncing: upTo };
}

/** `ok`: the writes the sync covered are durable here. A failed sync leaves them not durable. */
export function syncEnded(s: CommitState, ok: boolean): CommitState {
  if (s.syncing === null) throw new Error('no sync in flight');
  return { ...s, syncing: null, durable: ok ? Math.max(s.durable, s.syncing) : s.durable };
}

/** The writes a batch sends next, `from`..`to` in order, each durable here; null while one is in flight or none waits. */
export function nextBatch(s: CommitState, maxWrites: number): { from: number; to: number } | null {
  if (s.sending !== null || s.durable <= s.mirrored) return null;
  return { from: s.mirrored + 1, to: Math.min(s.durable, s.mirrored + maxWrites) };
}

export function batchSent(s: CommitState, to: number): CommitState {
  return { ...s, sending: to };
}

/** `ok`: the peer has the batch durably (or the peer was removed, so this copy answers alone). */
export function batchEnded(s: CommitState, ok: boolean): CommitState {
  if (s.sending === null) throw new Error('no batch in flight');
  return { ...s, sending: null, mirrored: ok ? Math.max(s.mirrored, s.sending) : s.mirrored };
}

/** Every write up to here may be acknowledged: durable on this copy and on the peer. */
export function acknowledgeable(s: CommitState): number {
  return Math.min(s.durable, s.mirrored); // mirrored <= durable: a batch carries durable writes only
}
