// What a storage node does, independent of its transports: one facade over the parts in
// service/ — data path, membership, recovery, snapshots and rebuild — which share one
// NodeContext (the node's stores and its in-memory recovery state).
import type { IoState, PeerRef, RestoredReplica, ScanReport, ScannedReplica } from '../common/types.js';
import type { SnapshotSummary } from '../snapshot-store/manifest.js';
import type { SnapshotStore } from '../snapshot-store/store.js';
import { httpReplication, type ReplicationPeer } from './client.js';
import type { MirroredWrite } from './protocol/replication.js';
import type { RebuildTarget, VolumeDigest, VolumeStatus } from './contract.js';
import type { HostedVolume, NodeStore } from './store/node-store.js';
import { NodeContext } from './service/context.js';
import * as data from './service/data-path.js';
import * as membership from './service/membership.js';
import * as rebuild from './service/rebuild.js';
import * as recovery from './service/recovery.js';
import * as snapshots from './service/snapshots.js';
import type { CommitCounts } from './service/write-pipeline.js';

export { NodeError } from './service/context.js';
export type { ConfigInput } from './service/membership.js';
export type { RebuildCompletion } from './service/rebuild.js';
export type { CreateVolumeInput } from './service/snapshots.js';
export type { RebuildTarget };

export class NodeService {
  private readonly ctx: NodeContext;

  constructor(
    readonly nodeId: string,
    readonly store: NodeStore,
    readonly capacityBytes: number,
    readonly snapshots: SnapshotStore,
    peers: ReplicationPeer = httpReplication,
  ) {
    this.ctx = new NodeContext(nodeId, store, capacityBytes, snapshots, peers);
  }

  get recovering(): boolean {
    return this.ctx.recovering;
  }

  /** Writes its primaries acknowledged and the syncs that made them durable (group commit). */
  get commitCounts(): Readonly<CommitCounts> {
    return this.ctx.commitCounts;
  }

  set recovering(value: boolean) {
    this.ctx.recovering = value;
  }

  /** A primary whose secondary stays unreachable past `giveUpMs` hands the volume to `ask`. */
  onPeerUnreachable(giveUpMs: number, ask: NodeContext['onPeerUnreachable']): void {
    this.ctx.peerGiveUpMs = giveUpMs;
    this.ctx.onPeerUnreachable = ask;
  }

  /** Changes with every process start: a caller waiting on a held request can tell a restart. */
  get bootId(): string {
    return this.ctx.bootId;
  }

  hosted(volumeId: string): HostedVolume {
    return this.ctx.hosted(volumeId);
  }

  describe(hosted: HostedVolume): ScannedReplica {
    return this.ctx.describe(hosted);
  }

  // Data path.
  read = (volumeId: string, offset: number, length: number): Promise<Buffer> => data.read(this.ctx, volumeId, offset, length);
  reviewRead = (volumeId: string, offset: number, length: number): Promise<Buffer> => data.reviewRead(this.ctx, volumeId, offset, length);
  write = (volumeId: string, offset: number, payload: Buffer): Promise<number> => data.write(this.ctx, volumeId, offset, payload);
  flush = (volumeId: string): Promise<void> => data.flush(this.ctx, volumeId);
  applyMirror = (volumeId: string, epoch: number, writes: readonly MirroredWrite[]): Promise<number> =>
    data.applyMirror(this.ctx, volumeId, epoch, writes);

  // Membership.
  configure = (volumeId: string, input: membership.ConfigInput, options: { failover?: boolean } = {}): Promise<ScannedReplica> =>
    membership.configure(this.ctx, volumeId, input, options);
  setIo = (volumeId: string, state: IoState): Promise<ScannedReplica> => membership.setIo(this.ctx, volumeId, state);
  enable = (volumeId: string, epoch: number, peer: PeerRef | null): Promise<ScannedReplica> =>
    membership.enable(this.ctx, volumeId, epoch, peer);
  delete = (volumeId: string): Promise<{ deleted: boolean }> => membership.deleteVolume(this.ctx, volumeId);
  status = (volumeId: string): VolumeStatus => membership.status(this.ctx, volumeId);

  // Recovery.
  holdAll = (): Promise<void> => recovery.holdAll(this.ctx);
  scan = (crashed: boolean): Promise<ScanReport> => recovery.scan(this.ctx, crashed);
  resumeService = (scannedAt?: string): Promise<{ recovering: boolean }> => recovery.resumeService(this.ctx, scannedAt);
  restore = (volumeId: string, repairs: Map<number, Buffer>): Promise<RestoredReplica> => recovery.restore(this.ctx, volumeId, repairs);
  repair = (volumeId: string, repairs: Map<number, Buffer>): Promise<{ repaired: number[] }> =>
    recovery.repair(this.ctx, volumeId, repairs);
  verifiedBlocks = (volumeId: string, first: number, count: number): Promise<Buffer> =>
    recovery.verifiedBlocks(this.ctx, volumeId, first, count);
  digest = (volumeId: string): Promise<VolumeDigest> => recovery.digest(this.ctx, volumeId);

  // Snapshots.
  createVolume = (input: snapshots.CreateVolumeInput): Promise<ScannedReplica> => snapshots.createVolume(this.ctx, input);
  snapshot = (volumeId: string, snapshotId: string): Promise<SnapshotSummary> => snapshots.snapshot(this.ctx, volumeId, snapshotId);

  // Rebuild.
  copyRange = (volumeId: string, target: RebuildTarget, offset: number, length: number): Promise<{ copiedBytes: number }> =>
    rebuild.copyRange(this.ctx, volumeId, target, offset, length);
  finishRebuild = (volumeId: string, target: RebuildTarget): Promise<{ writeSeq: number }> =>
    rebuild.finishRebuild(this.ctx, volumeId, target);
  applyRebuildRange = (volumeId: string, epoch: number, offset: number, payload: Buffer, crcs: Uint32Array): Promise<void> =>
    rebuild.applyRebuildRange(this.ctx, volumeId, epoch, offset, payload, crcs);
  completeRebuild = (volumeId: string, input: rebuild.RebuildCompletion): Promise<ScannedReplica> =>
    rebuild.completeRebuild(this.ctx, volumeId, input);
}
