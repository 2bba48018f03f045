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
import { cpuBetween, sampleCpu } from './cpu.js';
import { maxOverlap, percentile, Progress } from './progress.js';

export interface FleetOptions {
  nodes: number;
  volumesPerNode: number;
  restoreConcurrency: number;
  databaseUrl: string;
  plotPath: string;
}

const VOLUME_BYTES = 256 * 1024;
const WRITE_BYTES = 16 * 1024;

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
    env: {
      HEARTBEAT_MS: '1000',
      HEARTBEAT_TIMEOUT_MS: '6000',
      PEER_WAIT_MS: '30000',
      DATA_CONCURRENCY: String(opts.restoreConcurrency),
      NODE_FSYNC: 'false',
      QUOTA_MAX_VOLUMES: String(opts.nodes * opts.volumesPerNode), // the one customer owns every volume
    },
    progress: (m) => process.stderr.write(`fleet: ${m}\n`),
  });
  const { cluster, operator, customer, db } = scratch;
  // A run on the server on Postgres keeps its plot beside the dev server's (fleet-50-postgres.svg).
  const plotPath = temporalKind() === 'dev' ? opts.plotPath : opts.plotPath.replace(/\.svg$/, `-${temporalKind()}.svg`);
  try {
    const volumes = await placeVolumes(customer, (opts.nodes * opts.volumesPerNode) / 2);

    const restartAt = Date.now();
    await cluster.powerFail('dc', 'dc1');
    const cpuBefore = sampleCpu(cluster); // the node processes are dead: theirs count from their restart
    await cluster.restore('dc', 'dc1');
    const timeline = await watchRecovery(db, volumes.length, opts.nodes, restartAt);
    const cpu = cpuBetween(cpuBefore, sampleCpu(cluster), (Date.now() - restartAt) / 1000, cpus().length);
    const { rows } = await db.query(
      `select extract(epoch from max(ended_at)) * 1000 as last from volume_events where description = 'IO Auto-Enabled'`,
    );

    const { recoveries } = await operator.recoveries();
    const downtimes = recoveries.filter((r) => r.inServiceAt).map((r) => (Date.parse(r.inServiceAt!) - restartAt) / 1000);
    const admittedToService = recoveries
      .filter((r) => r.inServiceAt)
      .map((r) => (Date.parse(r.inServiceAt!) - Date.parse(r.admittedAt)) / 1000);
    const restores = await restoreIntervals(cluster);
    const restoredSeconds = (Number(rows[0].last) - restartAt) / 1000;
    const lost = await lostWrites(customer, volumes);
    await writeFile(
      plotPath,
      plot(
        timeline,
        restores.map(([s, e]) => [s - restartAt, e - restartAt]),
      ),
    );
    return {
      nodes: opts.nodes,
      volumes: volumes.length,
      uniqueVolumes: volumes.length,
      allNodesInServiceSeconds: Math.max(...downtimes),
      nodeDowntimeP50Seconds: percentile(downtimes, 50),
      nodeDowntimeP99Seconds: percentile(downtimes, 99),
      admittedToInServiceP99Seconds: percentile(admittedToService, 99),
      uniqueVolumesRestoredSeconds: restoredSeconds,
      recoveryWorkflowsPerSecond: (recoveries.length + volumes.length) / restoredSeconds,
      maxConcurrentRestores: maxOverlap(restores),
      restoreConcurrencyLimit: opts.restoreConcurrency,
      admissionRejections: (await operator.admission()).rejectionsTotal,
      lostAcknowledgedWrites: lost,
      plot: basename(plotPath),
      ...cpu,
    };
  } finally {
    await scratch.stop();
  }
}

async function placeVolumes(customer: BlackstartClient, count: number): Promise<string[]> {
  const progress = new Progress('fleet: volumes placed and written', count);
  const volumes: string[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, count - i) }, async () => {
        const { volumeId } = await customer.createVolume(VOLUME_BYTES, true);
        await customer.write(volumeId, 0, payload(volumeId));
        return volumeId;
      }),
    );
    volumes.push(...batch);
    progress.update(volumes.length);
  }
  progress.done();
  return volumes;
}

interface Sample {
  t: number;
  inService: number;
  restored: number;
}

/** Samples, from the inventory, nodes in service and volumes re-enabled until all serve again. */
async function watchRecovery(db: pg.Pool, volumes: number, nodes: number, since: number): Promise<Sample[]> {
  const progress = new Progress('fleet: volumes restored and verified', volumes);
  const samples: Sample[] = [];
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const { rows } = await db.query(
      `select (select count(*)::int from nodes where state = 'in-service') as in_service,
              (select count(*)::int from volume_events where description = 'IO Auto-Enabled' and ended_at is not null) as restored`,
    );
    const { in_service: inService, restored } = rows[0] as { in_service: number; restored: number };
    samples.push({ t: Date.now() - since, inService, restored });
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

async function lostWrites(customer: BlackstartClient, volumes: string[]): Promise<number> {
  let lost = 0;
  for (const v of volumes) {
    const data = await customer.read(v, 0, WRITE_BYTES).catch(() => Buffer.alloc(0));
    if (!data.equals(payload(v))) lost++;
  }
  return lost;
}

function payload(volumeId: string): Buffer {
  const b = Buffer.alloc(WRITE_BYTES);
  for (let i = 0; i < b.length; i++) b[i] = volumeId.charCodeAt(i % volumeId.length) ^ (i & 0xff);
  return b;
}

/** SVG: nodes in service and restores in flight over seconds since power returned. */
function plot(samples: Sample[], restores: [number, number][]): string {
  const w = 800;
  const h = 300;
  const tMax = Math.max(1, ...samples.map((s) => s.t), ...restores.map(([, e]) => e));
  const inFlight = samples.map((s) => ({ t: s.t, n: restores.filter(([a, b]) => a <= s.t && s.t <= b).length }));
  const yMax = Math.max(1, ...samples.map((s) => s.inService), ...inFlight.map((x) => x.n));
  const x = (t: number) => ((t / tMax) * (w - 60) + 50).toFixed(1);
  const y = (v: number) => (h - 30 - (v / yMax) * (h - 60)).toFixed(1);
  const line = (pts: { t: number; v: number }[], color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.t)},${y(p.v)}`).join(' ')}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="${w}" height="${h}" fill="white"/>
<line x1="50" y1="${h - 30}" x2="${w - 10}" y2="${h - 30}" stroke="black"/><line x1="50" y1="20" x2="50" y2="${h - 30}" stroke="black"/>
<text x="${w / 2}" y="${h - 8}" text-anchor="middle">seconds since power returned (max ${(tMax / 1000).toFixed(1)})</text>
<text x="55" y="15">max ${yMax}</text>
${line(
  samples.map((s) => ({ t: s.t, v: s.inService })),
  '#1f77b4',
)}
${line(
  inFlight.map((s) => ({ t: s.t, v: s.n })),
  '#d62728',
)}
<text x="${w - 200}" y="35" fill="#1f77b4">nodes in service</text><text x="${w - 200}" y="50" fill="#d62728">restores in flight</text>
</svg>
`;
}
