// The storage node's HTTP contract: each endpoint's path, the schema its input is validated
// with on the node, and the types of its request and answer. The node's handlers and every
// client (control plane, activities, CLI, tests) import this one module.
import { z } from 'zod';
import {
  BLOCK_SIZE,
  type IoState,
  type PeerRef,
  type ReplicaMode,
  type ReplicaRole,
  type RestoredReplica,
  type ScanReport,
  type ScannedReplica,
} from '../common/types.js';
import type { ProbeAnswer } from '../common/rules/failover.js';
import type { SnapshotSummary } from '../snapshot-store/manifest.js';

export type { RestoredReplica, ScanReport, ScannedReplica, SnapshotSummary };

/** Every endpoint's path, with `:id` (volume) and `:snapshotId` parameters. */
export const NODE_PATHS = {
  health: '/v1/health',
  scan: '/v1/scan',
  resumeService: '/v1/service/resume',
  volume: '/v1/volumes/:id',
  data: '/v1/volumes/:id/data',
  review: '/v1/volumes/:id/review',
  config: '/v1/volumes/:id/config',
  io: '/v1/volumes/:id/io',
  enable: '/v1/volumes/:id/enable',
  restore: '/v1/volumes/:id/restore',
  repair: '/v1/volumes/:id/repair',
  blocks: '/v1/volumes/:id/blocks',
  digest: '/v1/volumes/:id/digest',
  snapshot: '/v1/volumes/:id/snapshots/:snapshotId',
  copyRange: '/v1/volumes/:id/rebuild/copy',
  finishRebuild: '/v1/volumes/:id/rebuild/finish-peer',
  // Node to node, with a volume mirror token; bodies in protocol/replication.ts.
  mirror: '/v1/volumes/:id/mirror',
  rebuildRange: '/v1/volumes/:id/rebuild',
  rebuildFinish: '/v1/volumes/:id/rebuild/finish',
} as const;

export type NodeRoute = keyof typeof NODE_PATHS;

/** A path with its parameters filled in (encoded) and its query appended. */
export function nodePath(
  route: NodeRoute,
  params: { id?: string; snapshotId?: string } = {},
  query: Record<string, string | number> = {},
): string {
  const path = NODE_PATHS[route].replace(/:(id|snapshotId)\b/g, (_m, name: 'id' | 'snapshotId') => encodeURIComponent(params[name] ?? ''));
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return search ? `${path}?${search}` : path;
}

/** A non-negative integer in a query string. */
const uint = z.string().regex(/^\d+$/).transform(Number).refine(Number.isSafeInteger, 'must be a safe integer');
const epoch = z.int().nonnegative();
const role = z.enum(['primary', 'secondary']) satisfies z.ZodType<ReplicaRole>;

export const PeerRefSchema = z.strictObject({
  nodeId: z.string().min(1),
  url: z.url({ protocol: /^https?$/ }),
  token: z.string().min(1),
}) satisfies z.ZodType<PeerRef>;

export const RangeQuery = z.object({ offset: uint, length: uint });
export const WriteQuery = z.object({ offset: uint });
export const BlocksQuery = z.object({ first: uint, count: uint });
/** The scan of the incident resuming the node (ISO time, as the scan gave it). */
export const ResumeQuery = z.object({ scannedAt: z.string().datetime().optional() });
export const ConfigQuery = z.object({ failover: z.string().optional() }).transform((q) => ({ failover: q.failover === '1' }));
export const RebuildTargetQuery = z.object({ target: z.string().min(1), epoch: uint });
export const CopyRangeQuery = RebuildTargetQuery.extend({ offset: uint, length: uint });
export const SnapshotIdParam = z.string().regex(/^[\w-]{1,80}$/, 'snapshot ids are 1-80 letters, digits, _ or -');

export const CreateVolumeBody = z.strictObject({
  sizeBytes: z.int().positive(),
  role,
  epoch,
  peer: PeerRefSchema.nullable(),
  /** Fill the new copy from this snapshot. */
  source: z.strictObject({ volumeId: z.string().min(1), snapshotId: SnapshotIdParam }).optional(),
  /** A new secondary that a primary will rebuild: accepts mirrored writes at any sequence number. */
  rebuilding: z.boolean().optional(),
});
export type CreateVolumeRequest = z.infer<typeof CreateVolumeBody>;

export const ConfigBody = z.strictObject({ role, epoch, peer: PeerRefSchema.nullable() });
export type ConfigRequest = z.infer<typeof ConfigBody>;

export const IoBody = z.object({ state: z.enum(['enabled', 'paused']) satisfies z.ZodType<IoState> });
export const EnableBody = z
  .strictObject({ epoch, peer: PeerRefSchema.nullish() })
  .transform((b) => ({ epoch: b.epoch, peer: b.peer ?? null }));

/** One repaired block: its index and its 4 KiB of data, base64. */
export interface BlockRepair {
  block: number;
  data: string;
}

const repair = z.object({ block: z.int().nonnegative(), data: z.string() }).transform((r, ctx) => {
  const data = Buffer.from(r.data, 'base64');
  if (data.length !== BLOCK_SIZE) ctx.addIssue({ code: 'custom', message: `each repair needs ${BLOCK_SIZE} bytes of base64 data` });
  return [r.block, data] as const;
});
export const RepairsBody = z.object({ repairs: z.array(repair).optional() }).transform((b) => new Map(b.repairs ?? []));

export interface RebuildTarget {
  nodeId: string;
  epoch: number;
}

/** `GET /v1/health`: what the heartbeat monitor's probe judges (`common/rules/failover.ts`), always with `reporting`. */
export type NodeHealth = Required<ProbeAnswer>;

export interface VolumeStatus {
  volumeId: string;
  sizeBytes: number;
  role: ReplicaRole;
  epoch: number;
  /** The peer's node id. */
  peer: string | null;
  ioState: IoState;
  mode: ReplicaMode;
  createdAt: string;
  baseSnapshotId: string | null;
  writeSeq: number;
  heldRequests: number;
  dirtyBlocks: number;
}

export interface VolumeDigest {
  digest: string;
  epoch: number;
  writeSeq: number;
}
