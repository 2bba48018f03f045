// Node stories: registration, heartbeats, and the admission of recovery reports.
import { z } from 'zod';
import { parseDomainPath } from '../../common/failure-domain.js';
import { admitsRecovery } from '../../common/rules/admission.js';
import {
  reportSignal,
  SERVER_RECOVERY_TASK_QUEUE,
  serverRecoveryId,
  StorageNodeKey,
  RecoveryPhaseKey,
  supersededSignal,
} from '../../common/messages.js';
import { mirrorToken, nodeOfToken, nodeToken, sha256Hex } from '../../common/tokens.js';
import { randomUUID } from 'node:crypto';
import type { ScanReport, StoredReport } from '../../common/types.js';
import { serverRecovery, type ServerRecoveryInput } from '../../workflows/server-recovery.js';
import { AppError, notFound } from '../errors.js';
import { inTransaction } from '../repositories/db.js';
import { countNodesInState, getNode, markAdmitted, recordHeartbeat, recordRejection, upsertNode } from '../repositories/nodes.js';
import { readThrottle } from '../repositories/settings.js';
import {
  asOpenIncident,
  incidentWithScan,
  insertRecovery,
  lockAdmission,
  markSuperseded,
  openIncidentsOf,
  type RecoveryRow,
} from '../repositories/recoveries.js';
import { admissionFor } from '../../common/rules/incidents.js';
import { logger } from '../../common/log.js';
import { markNodeReplicasRecovering } from '../repositories/volumes.js';
import { dropReport, pruneReports, storeReport } from '../repositories/recovery-reports.js';
import type { Deps } from './deps.js';

const NodeId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'node ids are lowercase letters, digits and dashes');
const VolumeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const RegisterBody = z.strictObject({
  nodeId: NodeId,
  url: z.url({ protocol: /^https?$/ }),
  domainPath: z.string().transform((path, ctx) => {
    try {
      return parseDomainPath(path);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  capacityBytes: z.number().int().positive(),
  /** Booted after a crash, its I/O held: the registration vouches for none of its copies (an older build omits it). */
  recovering: z.boolean().optional(),
  /** Where the node serves NBD; a node without it (an older build) cannot be attached to. */
  nbdAddress: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'nbdAddress is host:port')
    .optional(),
  /** Where peers mirror to the node over mutual TLS (NODE_PEER_TLS=require); without it they use `url`. */
  peerUrl: z.url({ protocol: /^https$/ }).optional(),
});

export const HeartbeatBody = z.strictObject({
  usedBytes: z.number().int().nonnegative(),
  recovering: z.boolean(),
  bootId: z.string().max(64),
});

export const ScanReportBody = z.strictObject({
  nodeId: NodeId,
  scannedAt: z.string().datetime(),
  crashed: z.boolean(),
  replicas: z
    .array(
      z.strictObject({
        volumeId: VolumeId,
        sizeBytes: z.number().int().positive(),
        role: z.enum(['primary', 'secondary']),
        epoch: z.number().int().nonnegative(),
        writeSeq: z.number().int().nonnegative(),
        badBlocks: z.array(z.number().int().nonnegative()).max(1_000_000),
        dirtyBadBlocks: z.array(z.number().int().nonnegative()).max(1_000_000),
        digest: z.string().regex(/^[0-9a-f]{64}$/),
        baseSnapshotId: z.string().max(80).nullable(),
        rebuilding: z.boolean(),
      }),
    )
    .max(100_000),
});

/**
 * Registers a new node, or updates a known one's address. A known node must prove it is that
 * node (its current token): the join token alone, shared by the fleet, cannot take over an id.
 */
export async function registerNode(
  deps: Deps,
  body: z.infer<typeof RegisterBody>,
  presented: { nodeToken?: string; registrationKey?: string },
) {
  const { clusterSecret } = deps.config;
  const claim = {
    trusted: nodeOfToken(clusterSecret, presented.nodeToken ?? '') === body.nodeId,
    keyHash: presented.registrationKey ? sha256Hex(presented.registrationKey) : null,
  };
  const address = { id: body.nodeId, url: body.url, nbdAddress: body.nbdAddress ?? '', peerUrl: body.peerUrl ?? '' };
  // A node back from a crash, registering before its peers' investigations read the inventory,
  // must not look healthy to them: they would call their copies duplicates of its torn ones.
  const vouchMs = body.recovering ? 0 : deps.config.heartbeatTimeoutMs;
  const node = await upsertNode(deps.db, address, body.domainPath, body.capacityBytes, vouchMs, claim);
  if (!node) {
    throw new AppError(
      403,
      'forbidden',
      `node ${body.nodeId} is already registered; re-registering needs its node token or the registration key its first registration presented`,
    );
  }
  return {
    nodeId: node.id,
    state: node.state,
    nodeToken: nodeToken(clusterSecret, node.id),
    mirrorToken: mirrorToken(clusterSecret, node.id),
  };
}

/**
 * A node the control plane has declared down is told to recover before it serves again; so is a
 * node stuck recovering that the repair loop asked to report again (its agent reports once at a time).
 */
export async function heartbeat(deps: Deps, nodeId: string, body: z.infer<typeof HeartbeatBody>) {
  // A recovering node is alive but serves nothing: its heartbeat vouches for no copy.
  const vouchMs = body.recovering ? 0 : deps.config.heartbeatTimeoutMs;
  const node = await recordHeartbeat(deps.db, nodeId, body.usedBytes, body.bootId, vouchMs);
  if (!node) throw notFound(`node ${nodeId}`);
  return { state: node.state, reportRequired: node.state === 'down' };
}

/**
 * Admits a recovery report, or answers 429 when the bound of concurrent server recoveries is
 * reached (the node retries with jitter). A repeated report joins its incident, or is answered
 * again once that incident moved on.
 */
export async function admitReport(deps: Deps, nodeId: string, scan: ScanReport): Promise<{ workflowId: string; incident: number }> {
  if (scan.nodeId !== nodeId) throw new AppError(403, 'forbidden', `node ${nodeId} cannot report for node ${scan.nodeId}`);
  if (!(await getNode(deps.db, nodeId))) throw notFound(`node ${nodeId}`);
  const bytes = Buffer.byteLength(JSON.stringify(scan));
  if (bytes > deps.config.maxReportBytes) {
    throw new AppError(
      413,
      'report-too-large',
      `the report is ${bytes} bytes; a report may be at most ${deps.config.maxReportBytes} (MAX_REPORT_BYTES)`,
    );
  }
  const report = await store(deps, scan);
  const recovery = await admit(deps, nodeId, report);
  if (!recovery) {
    await dropReport(deps.db, report.reportId);
    await recordRejection(deps.db, nodeId);
    throw new AppError(429, 'throttled', 'the bound of concurrent server recoveries is reached; report again later', {
      'retry-after': String(deps.config.retryAfterSeconds),
    });
  }
  return { workflowId: recovery.workflowId, incident: recovery.id };
}

/**
 * Keeps the report's copies in the inventory, committed before any workflow hears of it: the
 * server recovery's history then carries only the report's id and size.
 */
async function store(deps: Deps, scan: ScanReport): Promise<StoredReport> {
  const { replicas, ...rest } = scan;
  const reportId = randomUUID();
  await pruneReports(deps.db);
  await storeReport(deps.db, reportId, scan.nodeId, replicas);
  return { ...rest, reportId, copies: replicas.length };
}

function startRecovery(deps: Deps, recovery: RecoveryRow, scan: StoredReport) {
  const args: ServerRecoveryInput = { nodeId: recovery.nodeId, incident: recovery.id, reconcileMs: deps.config.reconcileMs };
  return deps.temporal.workflow.signalWithStart(serverRecovery, {
    workflowId: recovery.workflowId,
    taskQueue: SERVER_RECOVERY_TASK_QUEUE,
    args: [args],
    signal: reportSignal,
    signalArgs: [scan],
    staticSummary: `Server recovery of ${recovery.nodeId}, incident ${recovery.id} (${scan.copies} copies reported, ${scan.crashed ? 'unclean shutdown' : 'declared down'})`,
    typedSearchAttributes: [
      { key: StorageNodeKey, value: recovery.nodeId },
      { key: RecoveryPhaseKey, value: 'notice' },
    ],
  });
}

/**
 * Admits a report by `admissionFor`: the same scan joins its incident; a new scan is a new
 * incident that supersedes every open one of the node (they are told to re-read the inventory,
 * and finish). A new incident takes an admission slot unless it replaces one still before service.
 * The workflow is signalled before the admission commits: if Temporal refuses, nothing is
 * admitted and the node holds no slot while it retries.
 */
async function admit(deps: Deps, nodeId: string, scan: StoredReport): Promise<RecoveryRow | null> {
  const admitted = await inTransaction(deps.db, async (tx) => {
    await lockAdmission(tx);
    const open = await openIncidentsOf(tx, nodeId);
    const earlier = await incidentWithScan(tx, nodeId, scan.scannedAt);
    const admission = admissionFor(open.map(asOpenIncident), scan.scannedAt, earlier?.id ?? null);
    if (admission.kind === 'repeat') return { recovery: earlier!, superseded: [] };
    if (admission.kind === 'join') {
      const joined = open.find((o) => o.id === admission.incident)!;
      await startRecovery(deps, joined, scan);
      return { recovery: joined, superseded: [] };
    }
    if (admission.needsSlot) {
      const inFlight = await countNodesInState(tx, 'recovering');
      const { maxConcurrentRecoveries } = await readThrottle(tx, deps.config);
      if (!admitsRecovery(inFlight, maxConcurrentRecoveries)) return null;
    }
    const recovery = await insertRecovery(tx, nodeId, scan.copies, scan.scannedAt, (id) => serverRecoveryId(nodeId, id));
    await markSuperseded(tx, admission.supersedes, recovery.id);
    await markAdmitted(tx, nodeId);
    await markNodeReplicasRecovering(tx, nodeId);
    await startRecovery(deps, recovery, scan);
    return { recovery, superseded: open.filter((o) => admission.supersedes.includes(o.id)) };
  });
  if (!admitted) return null;
  for (const older of admitted.superseded) await tellSuperseded(deps, older, admitted.recovery);
  return admitted.recovery;
}

/** A hint to re-read the inventory now; a lost one only waits for the older recovery's next re-read. */
async function tellSuperseded(deps: Deps, older: RecoveryRow, by: RecoveryRow): Promise<void> {
  await deps.temporal.workflow
    .getHandle(older.workflowId)
    .signal(supersededSignal, { by: by.id })
    .catch((err: unknown) =>
      logger({ nodeId: older.nodeId, workflowId: older.workflowId }).info(
        { err: (err as Error).message },
        `incident ${older.id} superseded by ${by.id}; its workflow was not told (it re-reads the inventory)`,
      ),
    );
}
