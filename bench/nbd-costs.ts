// What a job costs the storage nodes: CPU of both node processes (from /proc) per request, and
// for writes the group commit's batch size (acknowledged writes per sync, from the nodes' /metrics).
import type { LocalCluster } from '../cluster/local-cluster.js';
import { cpuOf } from './cpu.js';
import { round } from './nbd-tools.js';

export interface NodeSample {
  cpuSeconds: number;
  acknowledgedWrites: number;
  writeSyncs: number;
}

export interface NodeCost {
  /** CPU µs of both nodes together per request the job made. */
  cpuUsPerRequest: number;
  /** Writes acknowledged per sync of the primary during the job; null when the job wrote nothing. */
  writeBatchMean: number | null;
}

export async function sampleNodes(cluster: LocalCluster): Promise<NodeSample> {
  const nodes = cluster.processes().nodes;
  let acknowledgedWrites = 0;
  let writeSyncs = 0;
  for (const id of Object.keys(cluster.layout.nodePorts)) {
    const text = await fetch(`${cluster.nodeUrl(id)}/metrics`).then((r) => r.text());
    acknowledgedWrites += metric(text, 'blackstart_node_acknowledged_writes_total');
    writeSyncs += metric(text, 'blackstart_node_write_syncs_total');
  }
  return { cpuSeconds: nodes.reduce((sum, n) => sum + cpuOf(n.pid), 0), acknowledgedWrites, writeSyncs };
}

export function costBetween(before: NodeSample, after: NodeSample, requests: number): NodeCost {
  const syncs = after.writeSyncs - before.writeSyncs;
  return {
    cpuUsPerRequest: requests > 0 ? round(((after.cpuSeconds - before.cpuSeconds) * 1e6) / requests, 1) : 0,
    writeBatchMean: syncs > 0 ? round((after.acknowledgedWrites - before.acknowledgedWrites) / syncs, 2) : null,
  };
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
