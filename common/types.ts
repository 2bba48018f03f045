// Plain data shared by the API, the workflows, the activities and the storage nodes.
// Side-effect free: workflows import this module.

export const BLOCK_SIZE = 4096;

export type ReplicaRole = 'primary' | 'secondary';
export type IoState = 'enabled' | 'paused';
/**
 * `restored` = brought back by a recovery, readable only through a review grant until a decision;
 * `rebuilding` = a new secondary its primary is still copying to.
 */
export type ReplicaMode = 'normal' | 'restored' | 'rebuilding';

/** Failure-domain path, outermost first (patent: data center > zone > router > power > host). */
export interface FailureDomain {
  dc: string;
  zone: string;
  router: string;
  power: string;
  host: string;
}

export interface PeerRef {
  nodeId: string;
  url: string;
  token: string;
}

/** One volume as a recovering node found it on disk. */
export interface ScannedReplica {
  volumeId: string;
  sizeBytes: number;
  role: ReplicaRole;
  epoch: number;
  writeSeq: number;
  /** Block indices whose stored CRC32C does not match the data. */
  badBlocks: number[];
  /** The bad blocks written since the copy's base snapshot (those the snapshot cannot repair). */
  dirtyBadBlocks: number[];
  /** volumeDigest of the data at the scan; I/O is held from the scan on, so it stays true. */
  digest: string;
  /** The snapshot this copy's dirty bitmap is relative to. */
  baseSnapshotId: string | null;
  /** A new copy whose rebuild did not finish: it may lack data, whatever its writeSeq says. */
  rebuilding: boolean;
}

/** What a merge-restore did to the elected copy. */
export interface RestoredReplica extends ScannedReplica {
  repairedFromPeer: number;
  repairedFromSnapshot: number;
  /** Blocks rewritten from the base snapshot because they differed from it without being written since. */
  blocksFromBase: number;
  /** Bad blocks no peer or snapshot could repair; their CRC still fails. */
  unrecoverableBlocks: number[];
  base: { snapshotId: string; writeSeq: number; digest: string } | null;
}

export interface ScanReport {
  nodeId: string;
  scannedAt: string;
  /** true after an unclean shutdown; false when a live node was told to report (declared down). */
  crashed: boolean;
  replicas: ScannedReplica[];
}

/** A report the API stored in the inventory (`recovery_reports`): what its server recovery's history carries instead of every copy. */
export interface StoredReport extends Omit<ScanReport, 'replicas'> {
  reportId: string;
  copies: number;
}

/** The inventory's view of one volume, as the investigation needs it. */
export interface InventoryVolume {
  volumeId: string;
  deleted: boolean;
  epoch: number;
  members: InventoryReplica[];
}

export interface InventoryReplica {
  nodeId: string;
  role: ReplicaRole;
  epoch: number;
  /** true when the replica serves I/O on a node that is in service. */
  healthy: boolean;
  /** Held by a volume recovery (offered to it, or elected and restored): only that recovery decides for it. */
  held?: boolean;
  /** Rejoined by its node's open incident, not serving yet (`isRejoining`). */
  rejoining?: boolean;
}

export type Classification = 'duplicate' | 'stale' | 'orphan' | 'candidate' | 'rejoin';

/** A copy offered to a volume recovery by the node that holds it. */
export interface CandidateReport {
  nodeId: string;
  serverRecoveryId: string;
  replica: ScannedReplica;
}

/** Why a snapshot was taken: by the customer, by a policy, as an archive, or during a review. */
export type SnapshotKind = 'manual' | 'policy' | 'archive' | 'review';
