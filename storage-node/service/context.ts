// What the parts of a node's behaviour share: the node's identity and stores, the per-volume
// recovery state kept in memory, and the small helpers every part uses.
import { randomUUID } from 'node:crypto';
import type { ScannedReplica } from '../../common/types.js';
import type { SnapshotStore } from '../../snapshot-store/store.js';
import type { ReplicationPeer } from '../client.js';
import { checkRange, type BlockSpan } from '../protocol/block-range.js';
import type { HostedVolume, NodeStore } from '../store/node-store.js';
import type { Verification } from '../store/volume.js';
import type { CommitCounts, WritePipeline } from './write-pipeline.js';

/** A failure with an HTTP status and a stable code, answered as `{error:{code,message}}`. */
export class NodeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class NodeContext {
  recovering = false;
  /** When the scan of the current recovery was taken: only the incident admitted with it may resume the node. */
  recoveryScanAt: string | null = null;
  /** Each volume's verification at the last recovery scan, valid while its I/O stays held. */
  readonly verified = new Map<string, Verification>();
  /** Blocks a restore could not repair and no write has covered since: a late twin may still repair them. */
  readonly unrepaired = new Map<string, Set<number>>();
  /** Long operations in progress, so a retried call joins the running one. */
  private readonly running = new Map<string, Promise<unknown>>();
  /** Changes with every process start: a caller waiting on a held request can tell a restart. */
  readonly bootId = randomUUID();
  /** When each volume last logged that it acknowledges writes, and at which epoch. */
  readonly ackEvidence = new Map<string, { epoch: number; at: number }>();
  /** Each primary's writes between applied and acknowledged; a new one when the last fell idle. */
  readonly pipelines = new WeakMap<HostedVolume, WritePipeline>();
  /** Writes acknowledged and syncs made by this node's primaries. */
  readonly commitCounts: CommitCounts = { writes: 0, syncs: 0 };
  /** How long a primary retries its secondary before asking the control plane to serve alone. */
  peerGiveUpMs = 10_000;
  /** Where that request goes (the control-plane agent); called again on every retry past the give-up time. */
  onPeerUnreachable: (request: { volumeId: string; epoch: number; peer: string }) => void = () => undefined;

  constructor(
    readonly nodeId: string,
    readonly store: NodeStore,
    readonly capacityBytes: number,
    readonly snapshots: SnapshotStore,
    readonly peers: ReplicationPeer,
  ) {}

  join<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing as Promise<T>;
    const run = fn().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  hosted(volumeId: string): HostedVolume {
    const hosted = this.store.get(volumeId);
    if (!hosted) throw new NodeError(404, 'volume-not-found', `volume ${volumeId} is not on node ${this.nodeId}`);
    return hosted;
  }

  span(hosted: HostedVolume, offset: number, length: number): BlockSpan {
    const span = checkRange(offset, length, hosted.volume.meta.sizeBytes);
    if (typeof span === 'string') throw new NodeError(400, 'bad-range', span);
    return span;
  }

  describe(hosted: HostedVolume, verified: Pick<Verification, 'badBlocks' | 'digest'> = { badBlocks: [], digest: '' }): ScannedReplica {
    const { meta, dirty } = hosted.volume;
    return {
      volumeId: meta.volumeId,
      sizeBytes: meta.sizeBytes,
      role: meta.role,
      epoch: meta.epoch,
      writeSeq: hosted.volume.writeSeq,
      badBlocks: verified.badBlocks,
      dirtyBadBlocks: verified.badBlocks.filter((b) => dirty.get(b)),
      digest: verified.digest,
      baseSnapshotId: meta.baseSnapshotId ?? null,
      rebuilding: meta.mode === 'rebuilding',
    };
  }
}
