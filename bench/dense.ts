// Dense nodes: a few storage nodes hold every copy (`--copies-per-node`, 5,000 in the issue), the
// whole fleet loses power, and one serverRecovery per node must handle all of its copies within
// Temporal's per-execution limits (2,000 pending activities, signals or children; 10,240 history
// events warned, 51,200 fatal; 2 MiB per payload). Reports the largest recovery history (events
// and bytes), its most pending activities, the largest single event (payload), the time to every
// node in service and to every volume restored, and the Temporal actions per volume.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import type { BlackstartClient } from '../cli/client.js';
import type { LocalCluster, NodeSpec } from '../cluster/local-cluster.js';
import { startScratchCluster } from '../cluster/scratch-cluster.js';
import { cpuBetween, sampleCpu } from './cpu.js';
import { Progress } from './progress.js';
import { placeVolumes, readBack, type Workload } from './volume-workload.js';
import { historyStats, LARGE_HISTORY_CONNECTION, mergeStats, type HistoryStats } from './temporal-histories.js';

export interface DenseOptions {
  /** Storage nodes, each in a power domain of its own (default 2: every volume on both). */
  nodes: number;
  /** Copies each node holds; volumes = nodes × copiesPerNode / 2 (two copies each). */
  copiesPerNode: number;
  restoreConcurrency: number;
  /** The Postgres the cluster's database is created on; default: an embedded one for the run. */
  databaseUrl?: string;
}

const WORKLOAD: Workload = { volumeBytes: 64 * 1024, writeBytes: 4096, concurrency: 24, label: 'dense' };
/** Files a storage node keeps open per copy: its data file, which holds its CRCs, bitmap and writeSeq too. */
const FILES_PER_COPY = 1;
/** The largest report the API admits (api/config.ts; its default is 4 MiB): a 5,000-copy scan is about 1.2 MB. */
const MAX_REPORT_BYTES = 8 * 1024 * 1024;
/** Temporal's per-execution limits (server defaults) the figures are compared with. */
export const TEMPORAL_LIMITS = {
  pendingActivities: 2000,
  pendingSignals: 2000,
  pendingChildren: 2000,
  historyEventsWarn: 10_240,
  historyEventsMax: 51_200,
  payloadBytes: 2 * 1024 * 1024,
  historyBytesWarn: 10 * 1024 * 1024,
  historyBytesMax: 50 * 1024 * 1024,
};

/** Each node in a power domain of its own, all in one data center (dc1). */
export function denseTopology(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({ nodeId: `n${i + 1}`, domainPath: `dc1/z0/r0/p${i}/h${i + 1}` }));
}

export async function denseBench(opts: DenseOptions) {
  if (opts.nodes < 2) throw new Error('--dense-nodes must be at least 2 (two copies of every volume)');
  const volumeCount = Math.floor((opts.nodes * opts.copiesPerNode) / 2);
  checkOpenFileLimit(opts.copiesPerNode);
  const log = (m: string) => process.stderr.write(`dense: ${m}\n`);
  const scratch = await startScratchCluster({
    name: 'dense',
    adminDatabaseUrl: opts.databaseUrl,
    nodes: denseTopology(opts.nodes),
    env: {
      HEARTBEAT_MS: '1000',
      HEARTBEAT_TIMEOUT_MS: '6000',
      // Both nodes of a volume restart together, but a node's scan and report of thousands of
      // copies takes a while: its volume recoveries wait this long for the peer's offer.
      PEER_WAIT_MS: '120000',
      DATA_CONCURRENCY: String(opts.restoreConcurrency),
      NODE_FSYNC: 'false',
      QUOTA_MAX_VOLUMES: String(volumeCount), // the one customer owns every volume
      MAX_REPORT_BYTES: String(MAX_REPORT_BYTES),
      // Every open volume recovery stays in the worker's cache: an evicted one replays its history when woken.
      WORKFLOW_CACHE_SIZE: String(volumeCount + opts.nodes + 100),
    },
    keepDir: process.env.BENCH_KEEP_DIR === '1', // logs, operation logs, temporal.db
    progress: log,
  });
  const { cluster, operator, customer, db } = scratch;
  const connection = await Connection.connect({ address: cluster.temporalAddress, ...LARGE_HISTORY_CONNECTION });
  const temporal = new Client({ connection });
  try {
    const placeStarted = Date.now();
    const volumes = await placeVolumes(customer, volumeCount, WORKLOAD);
    const placementSeconds = (Date.now() - placeStarted) / 1000;
    const copies = await copiesByNode(db);
    log(`copies per node: ${JSON.stringify(copies)}`);

    const restartAt = Date.now();
    await cluster.powerFail('dc', 'dc1');
    const cpuBefore = sampleCpu(cluster); // the node processes are dead: theirs count from their restart
    await cluster.restore('dc', 'dc1');
    const watched = await watchRecovery(db, cluster, volumes.length, opts.nodes, restartAt);
    const cpu = cpuBetween(cpuBefore, sampleCpu(cluster), (Date.now() - restartAt) / 1000, cpus().length);

    // Each node's recovery of this outage: the time its service resumed (null: not yet).
    const { recoveries } = await operator.recoveries();
    const inServiceByNode = new Map<string, number | null>();
    for (const r of recoveries.filter((r) => Date.parse(r.admittedAt) >= restartAt)) {
      const s = r.inServiceAt ? (Date.parse(r.inServiceAt) - restartAt) / 1000 : null;
      const prev = inServiceByNode.get(r.nodeId);
      inServiceByNode.set(r.nodeId, prev === undefined ? s : prev === null || s === null ? null : Math.max(prev, s));
    }
    const inService = [...inServiceByNode.values()];
    const { rows: admitted } = await db.query<{ last: number | null }>(
      `select extract(epoch from max(admitted_at)) * 1000 as last from recovery_events where admitted_at >= to_timestamp($1 / 1000.0)`,
      [restartAt],
    );
    const reportsAdmittedSeconds = admitted[0]?.last ? (Number(admitted[0].last) - restartAt) / 1000 : null;
    const openEvents = await openVolumeEvents(db);
    const { lost, unanswered } = await readBack(customer, volumes, WORKLOAD);

    // The recovery workflows of this outage, once none is running (or after 5 minutes).
    const since = new Date(restartAt - 1000).toISOString();
    const query = (type: string) => `WorkflowType = '${type}' AND StartTime > '${since}'`;
    const stillRunning = await waitForWorkflows(temporal, `(${query('serverRecovery')}) OR (${query('volumeRecovery')})`);
    const fetchProgress = (label: string) => {
      let progress: Progress | null = null;
      return (done: number, total: number) => (progress ??= new Progress(`dense: ${label} histories read`, total)).update(done);
    };
    const server = await historyStats(temporal, query('serverRecovery'), { onProgress: fetchProgress('serverRecovery') });
    const volume = await historyStats(temporal, query('volumeRecovery'), { onProgress: fetchProgress('volumeRecovery') });
    const all = mergeStats(server, volume);

    return {
      nodes: opts.nodes,
      copiesPerNode: opts.copiesPerNode,
      copiesByNode: copies,
      volumes: volumes.length,
      volumeBytes: WORKLOAD.volumeBytes,
      placementSeconds: round(placementSeconds),
      volumesPlacedPerSecond: round(volumes.length / placementSeconds),
      complete: watched.complete,
      ...(watched.complete ? {} : { incompleteReason: watched.reason }),
      nodesInService: watched.inService,
      volumesRestored: watched.restored,
      reportsAdmittedSeconds: round(reportsAdmittedSeconds),
      allNodesInServiceSeconds: inService.length === opts.nodes && inService.every((s) => s !== null) ? Math.max(...inService) : null,
      uniqueVolumesRestoredSeconds: watched.lastRestoredAt ? round((watched.lastRestoredAt - restartAt) / 1000) : null,
      reportRejections: watched.reportRejections,
      openVolumeEvents: openEvents,
      lostAcknowledgedWrites: lost,
      unansweredReads: unanswered.length,
      recoveryWorkflowsStillRunning: stillRunning,
      // The largest recovery run and what it is nearest to Temporal's limits.
      maxHistoryEvents: all.maxHistoryEvents,
      maxHistoryBytes: all.maxHistoryBytes,
      maxPendingActivities: all.maxPendingActivities,
      maxPendingSignalsSent: all.maxPendingSignalsSent,
      maxPendingChildren: all.maxPendingChildren,
      maxSignalsReceived: all.maxSignalsReceived,
      largestRun: all.largestRun,
      largestEvent: all.largestEvent,
      serverRecoveryEventsPerCopy: round(server.maxHistoryEvents / Math.max(1, Math.max(...Object.values(copies)))),
      workflowTaskFailures: all.workflowTaskFailures,
      workflowsByType: all.byType,
      workflowsByStatus: all.byStatus,
      limits: TEMPORAL_LIMITS,
      // Temporal work per volume (bench/temporal-histories.ts defines an action).
      actions: all.actions,
      actionsPerVolume: round(all.actions / Math.max(1, volumes.length)),
      serverRecovery: summary(server),
      volumeRecovery: summary(volume),
      restoreConcurrencyLimit: opts.restoreConcurrency,
      ...cpu,
    };
  } finally {
    await connection.close().catch(() => undefined);
    await scratch.stop();
  }
}

/**
 * A storage node keeps one file open per copy (storage-node/store/volume.ts) and opens every copy
 * at start, in one node process that inherits this process's limit. Fails before the cluster
 * starts rather than at placement (EMFILE).
 */
function checkOpenFileLimit(copiesPerNode: number): void {
  const needed = FILES_PER_COPY * copiesPerNode + 1024;
  let soft = Infinity;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const value = line?.split(/\s{2,}/)[1];
    if (value && value !== 'unlimited') soft = Number(value);
  } catch {
    return; // not Linux: let the nodes tell
  }
  if (soft < needed)
    throw new Error(
      `a node holding ${copiesPerNode} copies needs about ${needed} open files (${FILES_PER_COPY} a copy); this process's limit is ${soft}: raise it (e.g. \`ulimit -n ${Math.max(needed, 65536)}\`) before npm run bench`,
    );
}

function summary(s: HistoryStats) {
  const { byType: _byType, largestRun: _run, largestEvent: _event, ...counts } = s;
  return counts;
}

async function copiesByNode(db: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<{ node_id: string; n: number }>(
    `select node_id, count(*)::int as n from replicas where state <> 'deleted' group by node_id order by node_id`,
  );
  return Object.fromEntries(rows.map((r) => [r.node_id, r.n]));
}

interface Watched {
  complete: boolean;
  reason: string;
  inService: number;
  restored: number;
  lastRestoredAt: number | null;
  /** The API's refusals of recovery reports by HTTP status (413: too large, 429: throttled). */
  reportRejections: Record<string, number>;
}

/**
 * Polls the inventory until every node is in service and every volume auto-enabled since the
 * restart. Gives up at a deadline (20 min + 0.3 s a volume), after 10 minutes without progress,
 * when no report was admitted 2 minutes after the API refused one as too large, or when every
 * volume not auto-enabled awaits its owner's decision.
 */
async function watchRecovery(db: pg.Pool, cluster: LocalCluster, volumes: number, nodes: number, since: number): Promise<Watched> {
  const progress = new Progress('dense: volumes restored', volumes);
  const deadline = since + 20 * 60_000 + volumes * 300;
  let lastChange = Date.now();
  let last = '';
  let rejections: Record<string, number> = {};
  for (let tick = 0; ; tick++) {
    const { rows } = await db.query<{ in_service: number; restored: number; last: number | null; admitted: number; awaiting: number }>(
      `select (select count(*)::int from nodes where state = 'in-service') as in_service,
              (select count(distinct volume_id)::int from volume_events
                where description = 'IO Auto-Enabled' and ended_at >= to_timestamp($1 / 1000.0)) as restored,
              (select extract(epoch from max(ended_at)) * 1000 from volume_events
                where description = 'IO Auto-Enabled' and ended_at >= to_timestamp($1 / 1000.0)) as last,
              (select count(*)::int from recovery_events where admitted_at >= to_timestamp($1 / 1000.0)) as admitted,
              (select count(distinct volume_id)::int from volume_events
                where description like 'Awaiting Action%' and ended_at is null and started_at >= to_timestamp($1 / 1000.0)) as awaiting`,
      [since],
    );
    const { in_service: inService, restored, admitted, awaiting } = rows[0]!;
    const lastRestoredAt = rows[0]!.last === null ? null : Number(rows[0]!.last);
    progress.update(restored, `(${inService}/${nodes} nodes in service, ${admitted} reports admitted, ${awaiting} awaiting their owner)`);
    if (tick % 10 === 0) rejections = await reportRejections(cluster, since);
    const result = (complete: boolean, reason: string): Watched => {
      progress.done(reason);
      return { complete, reason, inService, restored, lastRestoredAt, reportRejections: rejections };
    };
    if (restored >= volumes && inService === nodes) return result(true, '');
    // A volume left for its owner's decision is never auto-enabled: once every other one is, stop.
    if (awaiting > 0 && restored + awaiting >= volumes && inService === nodes)
      return result(false, `${awaiting} volumes await their owner's decision (Awaiting Action)`);
    const state = `${inService}/${restored}/${admitted}`;
    if (state !== last) [last, lastChange] = [state, Date.now()];
    if (Date.now() > deadline) return result(false, 'deadline passed');
    if (Date.now() - lastChange > 10 * 60_000) return result(false, `no progress for 10 minutes (${state})`);
    if ((rejections['413'] ?? 0) > 0 && admitted < nodes && Date.now() - since > 120_000)
      return result(false, 'recovery reports refused as too large (413)');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Refused POSTs of recovery reports since `since`, by status, from the API's request log (4xx at info). */
async function reportRejections(cluster: LocalCluster, since: number): Promise<Record<string, number>> {
  const text = await readFile(join(cluster.logDir, 'api.log'), 'utf8').catch(() => '');
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.includes('recovery-reports')) continue;
    try {
      const entry = JSON.parse(line) as { time?: number | string; status?: number; msg?: string };
      const at = typeof entry.time === 'string' ? Date.parse(entry.time) : (entry.time ?? 0);
      if (entry.msg === 'request' && entry.status && entry.status >= 400 && at >= since)
        counts[entry.status] = (counts[entry.status] ?? 0) + 1;
    } catch {
      // not a JSON line (pretty-printed or cut off)
    }
  }
  return counts;
}

/** Volume events still open (a volume waiting for review or proof), by description. */
async function openVolumeEvents(db: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<{ description: string; n: number }>(
    `select description, count(*)::int as n from volume_events where ended_at is null group by description`,
  );
  return Object.fromEntries(rows.map((r) => [r.description, r.n]));
}

/** Waits (5 minutes at most) until no run matching the query is open; returns how many still are. */
async function waitForWorkflows(client: Client, query: string): Promise<number> {
  const deadline = Date.now() + 5 * 60_000;
  for (let tick = 0; ; tick++) {
    const { count } = await client.workflow.count(`(${query}) AND ExecutionStatus = 'Running'`);
    if (count === 0 || Date.now() > deadline) return count;
    if (tick % 15 === 0) process.stderr.write(`dense: ${count} recovery workflow(s) still running; waiting (5 minutes at most)\n`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function round<T extends number | null>(n: T): T {
  return (n === null ? null : Math.round(n * 100) / 100) as T;
}
