// The patent's case: a whole data center loses power. N real storage nodes (several per
// process), N×M/2 volumes with data, every node SIGKILLed at once, every node restarted; then
// how long until every node serves again and every unique volume is restored and verified.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type pg from 'pg';
import type { BlackstartClient } from '../cli/client.js';
import type { LocalCluster, NodeSpec } from '../cluster/local-cluster.js';
import { startScratchCluster } from '../cluster/scratch-cluster.js';
import { temporalKind } from '../cluster/temporal-postgres.js';
import { cpus } from 'node:os';
import { cpuBetween, cpuOf, round, sampleCpu } from './cpu.js';
import { fleetPlotSvg, type FleetSample } from './fleet-plot.js';
import { incidentsPerNodeMax, serverRecoveriesOpenAtEnd } from './incidents.js';
import { recoveryCost } from './recovery-cost.js';
import { placeVolumes, readBack, type Workload } from './volume-workload.js';
import { maxOverlap, percentile, Progress } from './progress.js';

export interface FleetOptions {
  nodes: number;
  volumesPerNode: number;
  restoreConcurrency: number;
  /** The Postgres the cluster's database is created on; default: an embedded one for the run. */
  databaseUrl?: string;
  /** API and worker processes (default 1 each). */
  apis?: number;
  workers?: number;
  plotPath: string;
}

const WORKLOAD: Workload = { volumeBytes: 256 * 1024, writeBytes: 16 * 1024, concurrency: 16, label: 'fleet' };
/** The API's largest page of incidents. */
const MAX_RECOVERIES_PAGE = 1000;

/** N nodes, 10 per power domain, 2 power domains per router, 2 routers per zone. */
export function fleetTopology(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const power = Math.floor(i / 10);
    return { nodeId: `n${i + 1}`, domainPath: `dc1/z${Math.floor(power / 4)}/r${Math.floor(power / 2)}/p${power}/h${i + 1}` };
  });
}

export async function fleetBench(opts: FleetOptions) {
  const scratch = await startScratchCluster({
    name: 'fleet',
    adminDatabaseUrl: opts.databaseUrl,
    nodes: fleetTopology(opts.nodes),
    nodesPerProcess: 10,
    apis: opts.apis,
    workers: opts.workers,
    env: {
      HEARTBEAT_MS: '1000',
      HEARTBEAT_TIMEOUT_MS: '6000',
      PEER_WAIT_MS: '30000',
      DATA_CONCURRENCY: String(opts.restoreConcurrency),
      NODE_FSYNC: 'false',
      QUOTA_MAX_VOLUMES: String(opts.nodes * opts.volumesPerNode), // the one customer owns every volume
    },
    keepDir: process.env.BENCH_KEEP_DIR === '1', // logs, operation logs, temporal.db
    progress: (m) => process.stderr.write(`fleet: ${m}\n`),
  });
  const { cluster, operator, customer, db } = scratch;
  // A run on the server on Postgres keeps its plot beside the dev server's (fleet-50-postgres.svg).
  const plotPath = temporalKind() === 'dev' ? opts.plotPath : opts.plotPath.replace(/\.svg$/, `-${temporalKind()}.svg`);
  try {
    const volumes = await placeVolumes(customer, (opts.nodes * opts.volumesPerNode) / 2, WORKLOAD);

    const restartAt = Date.now();
    await cluster.powerFail('dc', 'dc1');
    const cpuBefore = sampleCpu(cluster); // the node processes are dead: theirs count from their restart
    const eachBefore = controlProcessesCpu(cluster);
    // Sampled from the power's return, while the nodes restart (with 200 nodes that alone takes half a minute).
    const [timeline] = await Promise.all([watchRecovery(db, volumes.length, opts.nodes, restartAt), cluster.restore('dc', 'dc1')]);
    const cpuAfter = sampleCpu(cluster);
    const each = controlProcessesCpu(cluster, eachBefore);
    const wallSeconds = (Date.now() - restartAt) / 1000;
    const cpu = cpuBetween(cpuBefore, cpuAfter, wallSeconds, cpus().length);
    const { rows } = await db.query(
      `select extract(epoch from max(ended_at)) * 1000 as last from volume_events where description = 'IO Auto-Enabled'`,
    );

    // Every incident: the API's default page of 100 counted half of a 200-node run's until 2026-12-07.
    const { recoveries } = await operator.recoveries(MAX_RECOVERIES_PAGE);
    if (recoveries.length === MAX_RECOVERIES_PAGE)
      throw new Error(`more than ${MAX_RECOVERIES_PAGE} incidents: the bench cannot count them all`);
    const downtimes = recoveries.filter((r) => r.inServiceAt).map((r) => (Date.parse(r.inServiceAt!) - restartAt) / 1000);
    const admittedToService = recoveries
      .filter((r) => r.inServiceAt)
      .map((r) => (Date.parse(r.inServiceAt!) - Date.parse(r.admittedAt)) / 1000);
    const restores = await restoreIntervals(cluster);
    const restoredSeconds = (Number(rows[0].last) - restartAt) / 1000;
    const { lost, unanswered } = await readBack(customer, volumes, WORKLOAD);
    const incidents = await incidentsPerNodeMax(db, restartAt);
    const openAtEnd = await serverRecoveriesOpenAtEnd(cluster.temporalAddress, 60_000);
    const recoveryWorkflowsPerSecond = (recoveries.length + volumes.length) / restoredSeconds;
    const cost = await recoveryCost(cluster, {
      since: restartAt,
      seconds: wallSeconds,
      volumes: volumes.length,
      servers: recoveries.length,
      cpuBefore,
      cpuAfter,
    });
    const svg = await fleetPlotSvg({
      samples: timeline,
      restores: restores.map(([s, e]) => [s - restartAt, e - restartAt]),
      nodes: opts.nodes,
      volumes: volumes.length,
      title: `${opts.nodes} nodes, ${volumes.length} volumes: a whole-fleet power loss (Temporal ${temporalKind()})`,
    });
    await writeFile(plotPath, svg);
    return {
      nodes: opts.nodes,
      apis: cluster.apis.length,
      workers: cluster.workers.length,
      ...each,
      volumes: volumes.length,
      uniqueVolumes: volumes.length,
      allNodesInServiceSeconds: Math.max(...downtimes),
      nodeDowntimeP50Seconds: percentile(downtimes, 50),
      nodeDowntimeP99Seconds: percentile(downtimes, 99),
      admittedToInServiceP99Seconds: percentile(admittedToService, 99),
      uniqueVolumesRestoredSeconds: restoredSeconds,
      recoveryWorkflowsPerSecond,
      ceilingRatio: recoveryWorkflowsPerSecond / (cost.noopWorkflowsPerSecond as number),
      maxConcurrentRestores: maxOverlap(restores),
      restoreConcurrencyLimit: opts.restoreConcurrency,
      admissionRejections: (await operator.admission()).rejectionsTotal,
      lostAcknowledgedWrites: lost,
      incidentsPerNodeMax: incidents,
      serverRecoveriesOpenAtEnd: openAtEnd,
      unansweredReads: unanswered.length,
      unansweredReadVolumes: unanswered.slice(0, 10),
      plot: basename(plotPath),
      ...cost,
      ...cpu,
    };
  } finally {
    await scratch.stop();
  }
}

/** CPU seconds of each API and each worker process (since `before`), to show how the work spread between them. */
function controlProcessesCpu(cluster: LocalCluster, before?: { apiCpuSecondsEach: number[]; workerCpuSecondsEach: number[] }) {
  const { apis, workers } = cluster.processes();
  const since = (processes: { pid: number | null }[], earlier: number[] = []) =>
    processes.map((p, i) => round(cpuOf(p.pid) - (earlier[i] ?? 0)));
  return { apiCpuSecondsEach: since(apis, before?.apiCpuSecondsEach), workerCpuSecondsEach: since(workers, before?.workerCpuSecondsEach) };
}

/** Samples, from the inventory, nodes in service and volumes re-enabled until all serve again. */
async function watchRecovery(db: pg.Pool, volumes: number, nodes: number, since: number): Promise<FleetSample[]> {
  const progress = new Progress('fleet: volumes restored and verified', volumes);
  const samples: FleetSample[] = [];
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const { rows } = await db.query(
      `select (select count(*)::int from nodes where state = 'in-service') as in_service,
              (select count(*)::int from volume_events where description = 'IO Auto-Enabled' and ended_at is not null) as restored,
              (select coalesce(sum(rejections), 0)::int from nodes) as rejections`,
    );
    const { in_service: inService, restored, rejections } = rows[0] as { in_service: number; restored: number; rejections: number };
    samples.push({ t: Date.now() - since, inService, restored, rejections });
    progress.update(restored, `(${inService}/${nodes} nodes in service)`);
    if ((restored >= volumes && inService === nodes) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  progress.done();
  return samples;
}

async function restoreIntervals(cluster: LocalCluster): Promise<[number, number][]> {
  const intervals: [number, number][] = [];
  for (const nodeId of cluster.nodes.keys()) {
    const text = await readFile(join(cluster.opts.dir, 'nodes', nodeId, 'operations.jsonl'), 'utf8').catch(() => '');
    for (const line of text.split('\n').filter(Boolean)) {
      const op = JSON.parse(line) as { op: string; at: string; startedAt?: string };
      if (op.op === 'restore' && op.startedAt) intervals.push([Date.parse(op.startedAt), Date.parse(op.at)]);
    }
  }
  return intervals;
}
