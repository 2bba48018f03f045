// What the partition benchmark counts, from the systems that record it: Temporal visibility
// (workflows started since the cut), the inventory (volume events, peer-drop requests), the
// API's breaker view, and the processes' logs (peer-drop refusals, nodes that lost the network).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { ackLines, splitBrainWrites, type AckLine } from '../chaos/split-brain.js';
import { requestJson } from '../common/http.js';
import type { LocalCluster } from '../cluster/local-cluster.js';

export interface BreakerView {
  open: boolean;
  unreachable: number;
  unreachableNodes: string[];
  nodes: number;
  massOutageShare: number;
}

export function breakerView(cluster: LocalCluster): Promise<BreakerView> {
  return requestJson<BreakerView>(`${cluster.apiUrl}/v1/operator/breaker`, { token: cluster.operatorToken, timeoutMs: 10_000 });
}

export interface StartedWorkflow {
  type: string;
  workflowId: string;
  startedAt: number;
}

/** Workflows started at or after `since` (Temporal visibility), oldest first. */
export async function workflowsSince(cluster: LocalCluster, since: number): Promise<StartedWorkflow[]> {
  const connection = await Connection.connect({ address: cluster.temporalAddress, connectTimeout: 5000 });
  try {
    const client = new Client({ connection });
    const started: StartedWorkflow[] = [];
    for await (const wf of client.workflow.list()) {
      const startedAt = wf.startTime.getTime();
      if (startedAt >= since) started.push({ type: wf.type, workflowId: wf.workflowId, startedAt });
    }
    return started.sort((a, b) => a.startedAt - b.startedAt);
  } finally {
    await connection.close();
  }
}

/** Volume events (by code) opened at or after `since`. */
export async function eventsSince(db: pg.Pool, since: number): Promise<Record<string, number>> {
  const { rows } = await db.query(
    `select code, count(*)::int as n from volume_events where started_at >= to_timestamp($1::double precision / 1000) group by code order by code`,
    [since],
  );
  return Object.fromEntries(rows.map((r: { code: string; n: number }) => [r.code, r.n]));
}

/** Peer-drop requests the inventory recorded (one row per volume and epoch) since `since`: granted ones name a workflow. */
export async function peerDropRows(db: pg.Pool, since: number): Promise<{ volumes: number; granted: string[] }> {
  const { rows } = await db.query(
    `select volume_id, epoch, workflow_id from peer_drops where requested_at >= to_timestamp($1::double precision / 1000)`,
    [since],
  );
  return {
    volumes: rows.length,
    granted: rows.filter((r: { workflow_id: string | null }) => r.workflow_id).map((r) => r.workflow_id as string),
  };
}

export interface LogEvidence {
  /** Nodes that logged "network lost (no control plane, no peer); holding I/O". */
  isolated: string[];
  /** Peer-drop requests a node saw refused, by reason (the node's log line). */
  refusals: Record<string, number>;
  /** Peer-drop requests a node saw granted. */
  grants: number;
  /** The API's "mass outage: …" lines (the heartbeat monitor's breaker opening). */
  breakerLines: string[];
  /** The API's "node … missed its heartbeats: down" lines. */
  downLines: number;
}

/** Scans every process log in the cluster's log directory (JSON lines from pino). */
export async function logEvidence(cluster: LocalCluster, since: number): Promise<LogEvidence> {
  const out: LogEvidence = { isolated: [], refusals: {}, grants: 0, breakerLines: [], downLines: 0 };
  const isolated = new Set<string>();
  const files = await readdir(cluster.logDir).catch(() => [] as string[]);
  for (const file of files.filter((f) => f.endsWith('.log'))) {
    const text = await readFile(join(cluster.logDir, file), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!/network lost|drop not granted|the control plane drops it|mass outage|missed its heartbeats/.test(line)) continue;
      const entry = parse(line);
      const at = entry ? Date.parse(String(entry.time)) : NaN;
      if (!entry || at < since) continue;
      const msg = String(entry.msg ?? '');
      if (msg.includes('network lost') && typeof entry.nodeId === 'string') isolated.add(entry.nodeId);
      else if (msg.includes('drop not granted')) {
        const reason = /mass-outage|too many nodes/.test(line)
          ? 'mass-outage'
          : (msg.split('drop not granted: ')[1] ?? 'unknown').slice(0, 80);
        out.refusals[reason] = (out.refusals[reason] ?? 0) + 1;
      } else if (msg.includes('the control plane drops it')) out.grants++;
      else if (msg.startsWith('mass outage')) out.breakerLines.push(`${String(entry.time)} ${msg}`);
      else if (msg.includes('missed its heartbeats')) out.downLines++;
    }
  }
  out.isolated = [...isolated].sort(byNodeNumber);
  return out;
}

/** Split-brain writes in the nodes' operation logs (chaos/split-brain.ts), and how many ack lines were judged. */
export async function splitBrainCount(cluster: LocalCluster): Promise<{ ackLines: number; splitBrainWrites: number }> {
  const acks: AckLine[] = [];
  for (const nodeId of cluster.nodes.keys()) {
    const text = await readFile(join(cluster.opts.dir, 'nodes', nodeId, 'operations.jsonl'), 'utf8').catch(() => '');
    acks.push(...ackLines(nodeId, text));
  }
  return { ackLines: acks.length, splitBrainWrites: splitBrainWrites(acks).length };
}

function parse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function byNodeNumber(a: string, b: string): number {
  return Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')) || a.localeCompare(b);
}
