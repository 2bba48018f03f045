// Typed clients of a storage node: `StorageNodeApi` (one method per endpoint) over HTTP for
// the control plane and workers, the grant-authenticated review read, and the node-to-node
// replication calls a primary makes with its peer's volume mirror token.
import { requestBytes, requestJson, type RequestOptions } from '../common/http.js';
import type { IoState, PeerRef } from '../common/types.js';
import type { MirrorStreamPool } from './transport/mirror-stream-client.js';
import { peerRequest, type PeerTls } from './transport/peer-tls.js';
import {
  nodePath,
  type BlockRepair,
  type ConfigRequest,
  type CreateVolumeRequest,
  type NodeHealth,
  type NodeRoute,
  type RebuildTarget,
  type RestoredReplica,
  type ScanReport,
  type ScannedReplica,
  type SnapshotSummary,
  type VolumeDigest,
  type VolumeStatus,
} from './contract.js';
import {
  encodeMirror,
  encodeRebuildFinish,
  encodeRebuildRange,
  type MirrorBatch,
  type RebuildFinish,
  type RebuildRange,
} from './protocol/replication.js';

export interface StorageNodeApi {
  health(): Promise<NodeHealth>;
  scan(): Promise<ScanReport>;
  /** `scannedAt`: the scan of the incident that resumes it; the node refuses an older one (409 superseded-scan). */
  resumeService(scannedAt?: string): Promise<{ recovering: boolean }>;
  status(volumeId: string): Promise<VolumeStatus>;
  createVolume(volumeId: string, input: CreateVolumeRequest): Promise<ScannedReplica>;
  read(volumeId: string, offset: number, length: number): Promise<Buffer>;
  write(volumeId: string, offset: number, data: Buffer): Promise<{ writeSeq: number }>;
  /** `failover`: a promotion, which a copy held for its volume's recovery refuses. */
  configure(volumeId: string, input: ConfigRequest, options?: { failover?: boolean }): Promise<ScannedReplica>;
  setIo(volumeId: string, state: IoState): Promise<ScannedReplica>;
  enable(volumeId: string, epoch: number, peer: PeerRef | null): Promise<ScannedReplica>;
  restore(volumeId: string, repairs: BlockRepair[]): Promise<RestoredReplica>;
  repair(volumeId: string, repairs: BlockRepair[]): Promise<{ repaired: number[] }>;
  /** `count` blocks from `first`, only when each one's CRC verifies (a 409 `bad-block` otherwise). */
  verifiedBlocks(volumeId: string, first: number, count: number): Promise<Buffer>;
  digest(volumeId: string): Promise<VolumeDigest>;
  snapshot(volumeId: string, snapshotId: string): Promise<SnapshotSummary>;
  copyRange(volumeId: string, target: RebuildTarget, offset: number, length: number): Promise<{ copiedBytes: number }>;
  finishRebuild(volumeId: string, target: RebuildTarget): Promise<{ writeSeq: number }>;
  delete(volumeId: string): Promise<{ deleted: boolean }>;
}

export interface NodeCallOptions {
  /** Makes a retried create or delete return its first answer. */
  idempotencyKey?: string;
  /** Overrides every call's timeout. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 8_000;
/** Calls that run long on the node by nature. */
const LONG_TIMEOUT_MS: Partial<Record<NodeRoute, number>> = { restore: 10 * 60_000, snapshot: 60 * 60_000, copyRange: 60_000 };
const FILL_FROM_SNAPSHOT_MS = 10 * 60_000;

const target = (t: RebuildTarget) => ({ target: t.nodeId, epoch: t.epoch });

export class HttpStorageNode implements StorageNodeApi {
  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly opts: NodeCallOptions = {},
  ) {}

  private options(route: NodeRoute, method: string, extra: RequestOptions = {}): RequestOptions {
    const key = this.opts.idempotencyKey;
    return {
      method,
      token: this.token,
      ...extra,
      timeoutMs: this.opts.timeoutMs ?? extra.timeoutMs ?? LONG_TIMEOUT_MS[route] ?? DEFAULT_TIMEOUT_MS,
      headers: key ? { 'idempotency-key': key } : {},
    };
  }

  private json<T>(
    route: NodeRoute,
    method: string,
    volumeId?: string,
    query?: Record<string, string | number>,
    extra?: RequestOptions,
  ): Promise<T> {
    return requestJson<T>(this.url + nodePath(route, { id: volumeId }, query), this.options(route, method, extra));
  }

  health = () => this.json<NodeHealth>('health', 'GET');
  scan = () => this.json<ScanReport>('scan', 'GET');
  resumeService = (scannedAt?: string) =>
    this.json<{ recovering: boolean }>('resumeService', 'POST', undefined, scannedAt === undefined ? {} : { scannedAt });
  status = (volumeId: string) => this.json<VolumeStatus>('volume', 'GET', volumeId);
  createVolume = (volumeId: string, input: CreateVolumeRequest) =>
    this.json<ScannedReplica>('volume', 'PUT', volumeId, {}, { body: input, timeoutMs: input.source ? FILL_FROM_SNAPSHOT_MS : undefined });
  write = (volumeId: string, offset: number, data: Buffer) =>
    this.json<{ writeSeq: number }>('data', 'PUT', volumeId, { offset }, { raw: data });
  configure = (volumeId: string, input: ConfigRequest, { failover = false }: { failover?: boolean } = {}) =>
    this.json<ScannedReplica>('config', 'POST', volumeId, failover ? { failover: 1 } : {}, { body: input });
  setIo = (volumeId: string, state: IoState) => this.json<ScannedReplica>('io', 'POST', volumeId, {}, { body: { state } });
  enable = (volumeId: string, epoch: number, peer: PeerRef | null) =>
    this.json<ScannedReplica>('enable', 'POST', volumeId, {}, { body: { epoch, peer } });
  restore = (volumeId: string, repairs: BlockRepair[]) =>
    this.json<RestoredReplica>('restore', 'POST', volumeId, {}, { body: { repairs } });
  repair = (volumeId: string, repairs: BlockRepair[]) =>
    this.json<{ repaired: number[] }>('repair', 'POST', volumeId, {}, { body: { repairs } });
  digest = (volumeId: string) => this.json<VolumeDigest>('digest', 'GET', volumeId);
  copyRange = (volumeId: string, t: RebuildTarget, offset: number, length: number) =>
    this.json<{ copiedBytes: number }>('copyRange', 'POST', volumeId, { ...target(t), offset, length });
  finishRebuild = (volumeId: string, t: RebuildTarget) => this.json<{ writeSeq: number }>('finishRebuild', 'POST', volumeId, target(t));
  delete = (volumeId: string) => this.json<{ deleted: boolean }>('volume', 'DELETE', volumeId);

  snapshot(volumeId: string, snapshotId: string): Promise<SnapshotSummary> {
    return requestJson(this.url + nodePath('snapshot', { id: volumeId, snapshotId }), this.options('snapshot', 'POST'));
  }

  read(volumeId: string, offset: number, length: number): Promise<Buffer> {
    return requestBytes(this.url + nodePath('data', { id: volumeId }, { offset, length }), this.options('data', 'GET'));
  }

  verifiedBlocks(volumeId: string, first: number, count: number): Promise<Buffer> {
    return requestBytes(this.url + nodePath('blocks', { id: volumeId }, { first, count }), this.options('blocks', 'GET'));
  }
}

/** A review read straight from the node holding the restored copy, with a signed review grant. */
export function reviewRead(nodeUrl: string, volumeId: string, grant: string, offset: number, length: number): Promise<Buffer> {
  return requestBytes(nodeUrl + nodePath('review', { id: volumeId }, { offset, length }), { headers: { authorization: `Grant ${grant}` } });
}

/** What a primary sends its peer: batches of mirrored writes and a rebuild's ranges and final step. */
export interface ReplicationPeer {
  /** `signal` abandons the attempt (its peer was dropped meanwhile). */
  mirror(peer: PeerRef, message: Omit<MirrorBatch, 'kind'>, signal?: AbortSignal): Promise<void>;
  rebuildRange(peer: PeerRef, message: Omit<RebuildRange, 'kind'>): Promise<void>;
  rebuildFinish(peer: PeerRef, message: Omit<RebuildFinish, 'kind'>): Promise<void>;
}

const MIRROR_TIMEOUT_MS = 5_000;
const REBUILD_TIMEOUT_MS = 30_000;

export interface PeerCall {
  method: string;
  token?: string;
  raw?: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** How a node reaches a peer: plain HTTP, or the peer's TLS port with its certificate (`tlsPeerSend`). */
export type PeerSend = (peer: Pick<PeerRef, 'nodeId' | 'url'>, path: string, call: PeerCall) => Promise<void>;

export const plainPeerSend: PeerSend = async (peer, path, call) => {
  await requestBytes(peer.url + path, call);
};

export function tlsPeerSend(tls: PeerTls): PeerSend {
  return async (peer, path, call) => {
    await peerRequest(tls, peer.nodeId, peer.url + path, call);
  };
}

/** The replication calls over `send`. */
export function replicationOver(send: PeerSend): ReplicationPeer {
  return {
    mirror: (peer, m, signal) =>
      send(peer, nodePath('mirror', { id: m.volumeId }), {
        method: 'PUT',
        token: peer.token,
        raw: encodeMirror(m),
        timeoutMs: MIRROR_TIMEOUT_MS,
        signal,
      }),
    rebuildRange: (peer, m) =>
      send(peer, nodePath('rebuildRange', { id: m.volumeId }), {
        method: 'PUT',
        token: peer.token,
        raw: encodeRebuildRange(m),
        timeoutMs: REBUILD_TIMEOUT_MS,
      }),
    rebuildFinish: (peer, m) =>
      send(peer, nodePath('rebuildFinish', { id: m.volumeId }), {
        method: 'POST',
        token: peer.token,
        raw: encodeRebuildFinish(m),
        timeoutMs: REBUILD_TIMEOUT_MS,
      }),
  };
}

export const httpReplication: ReplicationPeer = replicationOver(plainPeerSend);

/** What a node uses: mirror batches over its long-lived stream to each peer node, the rest over `send`. */
export function streamedReplication(send: PeerSend, stream: MirrorStreamPool): ReplicationPeer {
  return { ...replicationOver(send), mirror: stream.mirror };
}
