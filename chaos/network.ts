// A scenario's network fault: cut, flap or lose packets on the node holding the target's copy in
// the drawn role (or its whole router), hold it for the drawn time, then heal. Nodes stay up.
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { Heal } from '../cluster/network-faults.js';
import type { Copies } from './faults.js';
import { sleep } from './faults.js';
import type { NetworkFaultPlan } from './scenario.js';

/** A flapping link: down long enough to miss a heartbeat or two, then up again. */
const FLAP = { downMs: 400, upMs: 600 };

/** The nodes a network fault reaches, in the cluster's order. */
export function nodesReached(cluster: LocalCluster, plan: NetworkFaultPlan, copies: Copies): string[] {
  const node = copies[plan.role];
  if (plan.kind !== 'router') return [node];
  return cluster.nodesIn('router', routerOf(cluster, node)).sort();
}

/** Applies the fault, keeps it for `durationMs`, and heals it (also when the wait is cut short by an error). */
export async function inflictNetworkFault(cluster: LocalCluster, plan: NetworkFaultPlan, copies: Copies): Promise<void> {
  const network = cluster.network;
  if (!network) throw new Error('a network fault needs a cluster on network hosts (networkHosts: true)');
  const node = copies[plan.role];
  const heal = await apply(cluster, plan, node);
  try {
    await sleep(plan.durationMs);
  } finally {
    await heal();
  }
}

function apply(cluster: LocalCluster, plan: NetworkFaultPlan, node: string): Promise<Heal> {
  const faults = cluster.network!.faults;
  switch (plan.kind) {
    case 'cut-control-plane':
      return faults.cut(node, 'control-plane');
    case 'cut-peers':
      return faults.cut(node, 'peers');
    case 'cut-everything':
      return faults.cut(node, 'everything');
    case 'router':
      return faults.cutRouter(routerOf(cluster, node));
    case 'flap':
      return Promise.resolve(faults.flap(node, FLAP));
    case 'loss':
      return faults.loss(node, plan.lossPercent);
  }
}

function routerOf(cluster: LocalCluster, nodeId: string): string {
  return cluster.opts.nodes.find((n) => n.nodeId === nodeId)!.domainPath.split('/')[2]!;
}
