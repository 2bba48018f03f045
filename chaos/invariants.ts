// What a scenario is judged by once the cluster has settled: copies left on disk (invariant 1),
// workflows that neither finished nor wait visibly for a customer (invariant 3; a server
// recovery waiting only for volumes already decided waits for no one). Lost writes
// are the ledger's read-back (invariant 2); dropped held requests the held write's (invariant 4).
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
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
  /** A server recovery in configuration: the volumes it still waits for that were already decided. */
  waitsForDecided: string[];
}

/** `db`, the inventory, when the caller has it: a copy no longer candidate or restored is decided too. */
export async function openWorkflows(cluster: LocalCluster, db?: pg.Pool): Promise<OpenWorkflow[]> {
  const connection = await Connection.connect({ address: cluster.temporalAddress, connectTimeout: 5000 });
  try {
    const client = new Client({ connection });
    const open: { workflowId: string; type: string; ageMs: number }[] = [];
    for await (const wf of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      open.push({ workflowId: wf.workflowId, type: wf.type, ageMs: Date.now() - wf.startTime.getTime() });
    }
    const states = await Promise.all(open.map((wf) => stateOf(client, wf)));
    const undecided = new Map<string, boolean>(); // volume → its running volume recovery awaits a decision
    open.forEach((wf, i) => {
      const volumeId = VOLUME_RECOVERY.exec(wf.workflowId)?.[1];
      if (volumeId) undecided.set(volumeId, (undecided.get(volumeId) ?? false) || states[i]!.awaitingDecision);
    });
    const customerPending = states.some((s) => s.awaitingDecision);
    return Promise.all(
      open.map(async (wf, i) => {
        const base = { ...wf, awaitingCustomer: states[i]!.awaitingDecision, waitsForDecided: [] as string[] };
        if (wf.type !== 'serverRecovery' || states[i]!.phase !== 'configuration') return base;
        // A server recovery in configuration waits for its volumes' decisions: for a customer only
        // while one of those volumes' recoveries waits for one, never for a volume already decided.
        const waits = await waitedVolumes(client, wf.workflowId);
        if (!waits) return { ...base, awaitingCustomer: customerPending }; // its details could not be read: as before
        const decided = await decidedOf(waits.volumes, wf.workflowId, undecided, db);
        const pending = waits.volumes.filter((v) => !decided.includes(v) && undecided.get(v));
        return { ...base, awaitingCustomer: pending.length > 0 || (waits.truncated && customerPending), waitsForDecided: decided };
      }),
    );
  } finally {
    await connection.close();
  }
}

const VOLUME_RECOVERY = /^volume-recovery-(.+)-e\d+$/;
const SERVER_RECOVERY = /^server-recovery-(.+)-\d+$/;
const VOLUME_ID = /vol-[0-9a-f]+/g;

/** The volumes a server recovery's current details say it waits for (the first ten, and whether there are more). */
async function waitedVolumes(client: Client, workflowId: string): Promise<{ volumes: string[]; truncated: boolean } | null> {
  const meta = await client.workflow
    .getHandle(workflowId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata')
    .catch(() => null);
  if (!meta) return null;
  const details = meta.currentDetails ?? '';
  return { volumes: [...new Set(details.match(VOLUME_ID) ?? [])], truncated: details.includes('…') };
}

/** Of the volumes waited for: those whose volume recovery closed, or whose copy on the node is no longer candidate or restored. */
async function decidedOf(volumes: string[], workflowId: string, running: Map<string, boolean>, db?: pg.Pool): Promise<string[]> {
  const closed = volumes.filter((v) => !running.has(v));
  const nodeId = SERVER_RECOVERY.exec(workflowId)?.[1];
  if (!db || !nodeId) return closed;
  const { rows } = await db.query<{ volume_id: string }>(
    `select v.id as volume_id from unnest($1::text[]) as v(id)
     where not exists (select 1 from replicas r where r.volume_id = v.id and r.node_id = $2 and r.state in ('candidate', 'restored'))`,
    [volumes, nodeId],
  );
  return [...new Set([...closed, ...rows.map((r) => r.volume_id)])];
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
