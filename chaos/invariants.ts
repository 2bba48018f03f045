// What a scenario is judged by once the cluster has settled: copies left on disk (invariant 1),
// workflows that neither finished nor wait visibly for a customer (invariant 3). Lost writes
// are the ledger's read-back (invariant 2); dropped held requests the held write's (invariant 4).
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { phaseQuery, volumeStatusQuery } from '../common/messages.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { ackLines, splitBrainWrites } from './split-brain.js';

/** Volumes (never deleted by their customer) with no copy left on any node's disk. */
export async function volumesWithoutCopies(cluster: LocalCluster, volumes: Iterable<string>): Promise<string[]> {
  const gone: string[] = [];
  for (const volumeId of volumes) {
    const onDisk = await Promise.all(
      [...cluster.nodes.keys()].map((nodeId) =>
        access(join(cluster.opts.dir, 'nodes', nodeId, 'volumes', volumeId, 'meta.json')).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!onDisk.includes(true)) gone.push(volumeId);
  }
  return gone;
}

export interface OpenWorkflow {
  workflowId: string;
  type: string;
  /** How long it has been open. */
  ageMs: number;
  /** Waiting for a customer's decision, visibly: not stuck. */
  awaitingCustomer: boolean;
}

export async function openWorkflows(cluster: LocalCluster): Promise<OpenWorkflow[]> {
  const connection = await Connection.connect({ address: cluster.temporalAddress, connectTimeout: 5000 });
  try {
    const client = new Client({ connection });
    const open: { workflowId: string; type: string; ageMs: number }[] = [];
    for await (const wf of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      open.push({ workflowId: wf.workflowId, type: wf.type, ageMs: Date.now() - wf.startTime.getTime() });
    }
    const states = await Promise.all(open.map((wf) => stateOf(client, wf)));
    const customerPending = states.some((s) => s.awaitingDecision);
    // A server recovery in its configuration phase waits for its volumes' decisions.
    return open.map((wf, i) => ({
      ...wf,
      awaitingCustomer:
        states[i]!.awaitingDecision || (states[i]!.phase === 'configuration' && wf.type === 'serverRecovery' && customerPending),
    }));
  } finally {
    await connection.close();
  }
}

/** What the workflow's own queries say; a query that fails proves nothing. */
async function stateOf(
  client: Client,
  wf: { workflowId: string; type: string },
): Promise<{ phase: string | null; awaitingDecision: boolean }> {
  const handle = client.workflow.getHandle(wf.workflowId);
  try {
    if (wf.type === 'volumeRecovery') {
      const status = await handle.query(volumeStatusQuery);
      return { phase: status.phase, awaitingDecision: status.awaitingDecision };
    }
    return { phase: await handle.query(phaseQuery), awaitingDecision: false };
  } catch {
    return { phase: null, awaitingDecision: false };
  }
}

/** Every split-brain finding over the nodes' operation logs so far, one line each (stable, so a run counts each once). */
export async function splitBrainEvidence(cluster: LocalCluster): Promise<string[]> {
  const logs = await Promise.all(
    [...cluster.nodes.keys()].map(async (nodeId) =>
      ackLines(nodeId, await readFile(join(cluster.opts.dir, 'nodes', nodeId, 'operations.jsonl'), 'utf8').catch(() => '')),
    ),
  );
  return splitBrainWrites(logs.flat()).map(
    (f) =>
      `${f.volumeId}: ${f.older.nodeId} acknowledged at epoch ${f.older.epoch} at ${new Date(f.older.at).toISOString()}, ` +
      `after ${f.newer.nodeId} began at epoch ${f.newer.epoch} at ${new Date(f.newer.firstAt).toISOString()}`,
  );
}
