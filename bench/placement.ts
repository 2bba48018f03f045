// Placement under concurrent creates: N real nodes (ten to a power domain, two power domains to a
// router, two routers to a zone, so routers are uneven at 30 nodes), V volumes created through the
// API C at a time, then how evenly the copies landed (`maxOverMeanCopies`, `nodesUnused`) and how
// many volumes still span two routers.
import type { NodeSpec } from '../cluster/local-cluster.js';
import { startScratchCluster } from '../cluster/scratch-cluster.js';
import { separation } from '../common/rules/placement.js';
import { parseDomainPath } from '../common/failure-domain.js';
import { fleetTopology } from './fleet.js';
import { percentile, Progress } from './progress.js';
import { lanes } from './volume-workload.js';

export interface PlacementOptions {
  nodes: number;
  volumes: number;
  concurrency: number;
  databaseUrl?: string;
}

const VOLUME_BYTES = 1024 * 1024;

export async function placementBench(opts: PlacementOptions): Promise<Record<string, unknown>> {
  const topology = fleetTopology(opts.nodes);
  const scratch = await startScratchCluster({
    name: 'placement',
    adminDatabaseUrl: opts.databaseUrl,
    nodes: topology,
    nodesPerProcess: 10,
    env: { NODE_FSYNC: 'false', QUOTA_MAX_VOLUMES: String(opts.volumes) },
    keepDir: process.env.BENCH_KEEP_DIR === '1',
    progress: (m) => process.stderr.write(`placement: ${m}\n`),
  });
  const { customer, db } = scratch;
  try {
    const progress = new Progress('placement: volumes created', opts.volumes);
    const latencies: number[] = [];
    const started = Date.now();
    await lanes(opts.volumes, opts.concurrency, async () => {
      const t0 = Date.now();
      await customer.createVolume(VOLUME_BYTES);
      latencies.push(Date.now() - t0);
      progress.update(latencies.length);
    });
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    const { rows } = await db.query<{ volume_id: string; node_id: string }>(
      `select volume_id, node_id from replicas where state = 'in-service' order by volume_id, node_id`,
    );
    return {
      nodes: opts.nodes,
      volumes: opts.volumes,
      concurrency: opts.concurrency,
      ...spread(topology, rows),
      ...timing(latencies, seconds),
    };
  } finally {
    await scratch.stop();
  }
}

/** How evenly the copies landed on `topology`'s nodes, and how many volumes span two routers. */
export function spread(topology: NodeSpec[], copies: { volume_id: string; node_id: string }[]) {
  const perNode = new Map(topology.map((n) => [n.nodeId, 0]));
  const byVolume = new Map<string, string[]>();
  for (const c of copies) {
    perNode.set(c.node_id, (perNode.get(c.node_id) ?? 0) + 1);
    byVolume.set(c.volume_id, [...(byVolume.get(c.volume_id) ?? []), c.node_id]);
  }
  const counts = [...perNode.values()];
  const mean = copies.length / counts.length;
  const domains = new Map(topology.map((n) => [n.nodeId, parseDomainPath(n.domainPath)]));
  const pairs = [...byVolume.values()].filter((nodes) => nodes.length === 2);
  const apart = pairs.filter(([a, b]) => separation(domains.get(a!)!, domains.get(b!)!) >= 2).length;
  return {
    copies: copies.length,
    maxOverMeanCopies: mean > 0 ? Math.max(...counts) / mean : 0,
    minOverMeanCopies: mean > 0 ? Math.min(...counts) / mean : 0,
    nodesUnused: counts.filter((n) => n === 0).length,
    volumesAcrossRouters: pairs.length > 0 ? apart / pairs.length : 0,
  };
}

function timing(latencies: number[], seconds: number) {
  return {
    createsPerSecond: latencies.length / seconds,
    createP50Ms: percentile(latencies, 50),
    createP99Ms: percentile(latencies, 99),
  };
}
