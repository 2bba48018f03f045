// A primary's writes after they are applied here: group commit (one sync of this copy per batch)
// and the mirror (one batch of consecutive writes, durable here, in flight to the peer at a
// time), driven by the pure model in store/group-commit.ts. A write is answered when the peer's
// answer covers it.
import { HttpError, sleep } from '../../common/http.js';
import { MAX_IO_BYTES } from '../protocol/block-range.js';
import { MAX_MIRROR_WRITES, type MirroredWrite } from '../protocol/replication.js';
import * as commit from '../store/group-commit.js';
import { VolumeDeletedError } from '../store/io-gate.js';
import type { HostedVolume } from '../store/node-store.js';
import { NodeError, type NodeContext } from './context.js';

const MIRROR_RETRY_MS = 100;

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Writes and syncs on this node's primaries, for writes per sync (the bench's writeBatchMean). */
export interface CommitCounts {
  writes: number;
  syncs: number;
}

export class WritePipeline {
  private state: commit.CommitState;
  /** Applied writes the peer has not confirmed yet, by seq. */
  private readonly unmirrored = new Map<number, MirroredWrite>();
  private readonly waiters: Waiter[] = [];
  /** Set when the peer fenced this copy or the volume went away: every write still waiting fails with it. */
  private broken: Error | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly hosted: HostedVolume,
    private readonly counts: CommitCounts,
  ) {
    this.state = commit.settledAt(hosted.volume.writeSeq);
  }

  /** Nothing waits and nothing is in flight: the pipeline can be dropped (or re-based). */
  get idle(): boolean {
    return this.broken !== null || commit.isIdle(this.state);
  }

  /** Called in the gate, right after write `seq` is applied here; settles when it may be acknowledged. */
  track(write: MirroredWrite): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    this.state = commit.apply(this.state, write.seq);
    this.unmirrored.set(write.seq, write);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ seq: write.seq, resolve, reject }));
    done.catch(() => undefined); // the caller awaits it once its apply returns; a failure before that is not unhandled
    this.pump();
    return done;
  }

  private pump(): void {
    if (this.broken) return;
    this.startSync();
    this.startBatch();
    this.answer();
  }

  private startSync(): void {
    const upTo = commit.nextSync(this.state);
    if (upTo === null || !this.waiters.some((w) => w.seq <= upTo)) return; // a failed write needs no retried sync
    this.state = commit.syncStarted(this.state, upTo);
    this.hosted.volume.syncWrites().then(
      () => {
        this.counts.syncs++;
        this.state = commit.syncEnded(this.state, true);
        this.pump();
      },
      (err: Error) => {
        this.state = commit.syncEnded(this.state, false);
        const { volumeId } = this.hosted.volume.meta;
        if (this.ctx.store.get(volumeId) !== this.hosted) return this.breakWith(new VolumeDeletedError(volumeId));
        this.fail((w) => w.seq <= upTo, err);
        this.pump();
      },
    );
  }

  private startBatch(): void {
    const next = commit.nextBatch(this.state, MAX_MIRROR_WRITES);
    if (!next) return;
    const writes = this.batchOf(next.from, next.to);
    const to = writes[writes.length - 1]!.seq;
    this.state = commit.batchSent(this.state, to);
    this.send(writes).then(
      () => {
        for (const w of writes) this.unmirrored.delete(w.seq);
        this.state = commit.batchEnded(this.state, true);
        this.pump();
      },
      (err: Error) => {
        this.state = commit.batchEnded(this.state, false);
        this.breakWith(err);
      },
    );
  }

  /** Consecutive writes from `from`, up to `to`, within one message's payload (always at least one). */
  private batchOf(from: number, to: number): MirroredWrite[] {
    const writes: MirroredWrite[] = [];
    let bytes = 0;
    for (let seq = from; seq <= to; seq++) {
      const w = this.unmirrored.get(seq)!;
      if (writes.length > 0 && bytes + w.payload.length > MAX_IO_BYTES) break;
      bytes += w.payload.length;
      writes.push(w);
    }
    return writes;
  }

  private answer(): void {
    const upTo = commit.acknowledgeable(this.state);
    while (this.waiters.length > 0 && this.waiters[0]!.seq <= upTo) {
      this.counts.writes++;
      this.waiters.shift()!.resolve();
    }
  }

  private fail(which: (w: Waiter) => boolean, err: Error): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (which(this.waiters[i]!)) this.waiters.splice(i, 1)[0]!.reject(err);
    }
  }

  private breakWith(err: Error): void {
    this.broken = err;
    this.unmirrored.clear();
    this.fail(() => true, err);
  }

  /**
   * Keeps trying the peer until it has the batch, the control plane removes it from the volume
   * (failover or peer drop: the writes are then acknowledged by this copy alone), or the volume
   * is deleted. Past the give-up time the control plane is asked to let this copy serve alone; an
   * attempt stuck on a peer that was dropped meanwhile is abandoned at once.
   */
  private async send(writes: MirroredWrite[]): Promise<void> {
    const { ctx, hosted } = this;
    const since = Date.now();
    let attempt: { peer: string; epoch: number; abort: AbortController } | null = null;
    const watch = setInterval(() => {
      const { peer, epoch, volumeId } = hosted.volume.meta;
      if (attempt && (peer?.nodeId !== attempt.peer || epoch !== attempt.epoch)) attempt.abort.abort();
      else if (peer && Date.now() - since >= ctx.peerGiveUpMs) ctx.onPeerUnreachable({ volumeId, epoch, peer: peer.nodeId });
    }, MIRROR_RETRY_MS);
    try {
      for (;;) {
        const { peer, epoch, volumeId } = hosted.volume.meta;
        if (!peer) return;
        if (ctx.store.get(volumeId) !== hosted) throw new VolumeDeletedError(volumeId);
        attempt = { peer: peer.nodeId, epoch, abort: new AbortController() };
        try {
          await ctx.peers.mirror(peer, { volumeId, epoch, writes }, attempt.abort.signal);
          return;
        } catch (err) {
          if (err instanceof HttpError && err.code === 'stale-epoch') {
            throw new NodeError(409, 'not-primary', `volume ${volumeId} was failed over; this copy is fenced`);
          }
          if (!attempt.abort.signal.aborted) await sleep(MIRROR_RETRY_MS);
        }
      }
    } finally {
      clearInterval(watch);
    }
  }
}
