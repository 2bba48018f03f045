// The fault actions: SIGKILL of nodes and of control-plane processes, damage to a down copy's
// data file, and nodes returning in a given order and delay.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOCK_SIZE } from '../common/types.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { ChaosCluster } from './cluster.js';
import { Prng } from './prng.js';
import type { Corruption, CrashedProcess, ProcessCrash, Role, Scenario } from './scenario.js';

export type Copies = Record<Role, string>;

/** The target volume's copies by role, from the inventory. */
export async function copiesByRole(c: ChaosCluster, volumeId: string): Promise<Copies> {
  const { rows } = await c.db.query<{ node_id: string; role: Role }>(
    `select node_id, role from replicas where volume_id = $1 and state = 'in-service'`,
    [volumeId],
  );
  const primary = rows.find((r) => r.role === 'primary')?.node_id;
  const secondary = rows.find((r) => r.role === 'secondary')?.node_id;
  if (!primary || !secondary) throw new Error(`volume ${volumeId} has no two in-service copies: ${JSON.stringify(rows)}`);
  return { primary, secondary };
}

/** The nodes the scenario's fault takes down, in the order their return delays apply. */
export function nodesToFail(cluster: LocalCluster, s: Scenario, copies: Copies): string[] {
  switch (s.fault) {
    case 'primary':
    case 'secondary':
      return [copies[s.fault]];
    case 'both':
      return [copies.primary, copies.secondary];
    case 'power-domain':
      return cluster.nodesIn('power', powerDomainOf(cluster, copies[s.domainOf])).sort();
  }
}

function powerDomainOf(cluster: LocalCluster, nodeId: string): string {
  return cluster.opts.nodes.find((n) => n.nodeId === nodeId)!.domainPath.split('/')[3]!;
}

/**
 * Flips bytes of one block, or tears it (its sectors up to the damaged byte overwritten, as a
 * write cut short between data and CRC would leave it). The stored CRC is left as it was, so the scan sees it.
 */
export async function damageBlock(cluster: LocalCluster, nodeId: string, volumeId: string, damage: Corruption, rng: Prng): Promise<void> {
  const file = await open(join(cluster.opts.dir, 'nodes', nodeId, 'volumes', volumeId, 'data'), 'r+');
  try {
    const blockStart = Math.floor(damage.at / BLOCK_SIZE) * BLOCK_SIZE;
    const block = Buffer.alloc(BLOCK_SIZE);
    await file.read(block, 0, BLOCK_SIZE, blockStart);
    if (damage.kind === 'flip') {
      const flips = rng.int(1, 8);
      for (let i = 0; i < flips; i++) {
        const at = (damage.at - blockStart + i * 7) % BLOCK_SIZE;
        block[at] = block[at]! ^ rng.int(1, 255);
      }
    } else {
      const sectors = Math.floor((damage.at - blockStart) / 512) + 1;
      rng.bytes(512 * sectors).copy(block);
    }
    await file.write(block, 0, BLOCK_SIZE, blockStart);
  } finally {
    await file.close();
  }
}

/** Restarts each failed node after its delay. */
export async function returnNodes(cluster: LocalCluster, nodes: string[], delaysMs: number[]): Promise<void> {
  await Promise.all(
    nodes.map(async (nodeId, i) => {
      await sleep(delaysMs[i] ?? 0);
      await cluster.startNode(nodeId);
    }),
  );
}

/**
 * SIGKILLs a control-plane process mid-recovery and starts it again after `downMs`. With several
 * APIs or workers, `pick` chooses which one (modulo their number), so a run kills each in turn.
 */
export async function crashMidRecovery(cluster: LocalCluster, crash: ProcessCrash, pick = 0): Promise<void> {
  await sleep(crash.afterMs);
  await kill(cluster, crash.process, pick);
  await sleep(crash.downMs);
  await start(cluster, crash.process, pick);
}

/** API or worker `pick` of the cluster's (modulo their number). */
function replica(cluster: LocalCluster, process: 'api' | 'worker', pick: number): number {
  return pick % (process === 'api' ? cluster.apis : cluster.workers).length;
}

function kill(cluster: LocalCluster, process: CrashedProcess, pick: number): Promise<void> {
  if (process === 'temporal') return cluster.killTemporal();
  const i = replica(cluster, process, pick);
  return (process === 'api' ? cluster.apis[i]! : cluster.workers[i]!).kill();
}

function start(cluster: LocalCluster, process: CrashedProcess, pick: number): Promise<void> {
  if (process === 'temporal') return cluster.startTemporal();
  const i = replica(cluster, process, pick);
  return process === 'api' ? cluster.startApi(i) : cluster.startWorker(i);
}

/**
 * Starts any API or worker that died on its own (not by the scenario's hand) and names it:
 * a supervisor would restart it, but the harness reports that it was needed.
 */
export async function restartCollateral(cluster: LocalCluster): Promise<string[]> {
  const dead: string[] = [];
  for (const [i, api] of cluster.apis.entries()) if (!api.running) (await cluster.startApi(i), dead.push(api.spec.name));
  for (const [i, worker] of cluster.workers.entries()) if (!worker.running) (await cluster.startWorker(i), dead.push(worker.spec.name));
  return dead;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
