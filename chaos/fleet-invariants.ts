// What a compound scenario is judged by besides the single-fault invariants, once the cluster is
// clean: every volume on two in-service copies that agree, every node in service, no volume
// whose inventory says "enabled" while its primary holds I/O. Each check answers its findings,
// one line each; the judge counts them.
import { requestJson } from '../common/http.js';
import { nodeToken } from '../common/tokens.js';
import { HttpStorageNode } from '../storage-node/client.js';
import { INCONSISTENCY_EVENT } from '../api/repositories/events.js';
import type { ChaosCluster } from './cluster.js';

/** One finding: `key` stays the same while the fault persists (a run counts it once), `text` says what was seen. */
export interface Finding {
  key: string;
  text: string;
}

/** Volumes not awaiting their owner with fewer than two in-service copies on in-service nodes. */
export async function underReplicatedVolumes(c: ChaosCluster): Promise<Finding[]> {
  const { rows } = await c.db.query<{ id: string; epoch: number; copies: string; states: string | null }>(
    `select v.id, v.epoch,
            count(*) filter (where r.state = 'in-service' and n.state = 'in-service') as copies,
            string_agg(r.node_id || ':' || r.state || '/' || n.state, ' ' order by r.node_id) as states
     from volumes v
     left join replicas r on r.volume_id = v.id and r.state <> 'deleted'
     left join nodes n on n.id = r.node_id
     where v.state in ('available', 'in-use') and not (${AWAITING_OWNER})
     group by v.id, v.epoch
     having count(*) filter (where r.state = 'in-service' and n.state = 'in-service') < 2
     order by v.id`,
    [INCONSISTENCY_EVENT],
  );
  return rows.map((r) => ({ key: `${r.id}@${r.epoch}`, text: `${r.id}: ${r.copies} in-service copies (${r.states ?? 'no copy'})` }));
}

/** A volume awaiting its owner: an open inconsistency event and a restored copy (api/repositories/events.ts). */
const AWAITING_OWNER = `exists (select 1 from volume_events e where e.volume_id = v.id and e.code = $1 and e.ended_at is null)
  and exists (select 1 from replicas x where x.volume_id = v.id and x.state = 'restored')`;

/** Nodes the inventory does not have in service, or that say themselves recovering, or do not answer. */
export async function nodesNotInService(c: ChaosCluster): Promise<Finding[]> {
  const { rows } = await c.db.query<{ id: string; state: string; incident: number }>(`select id, state, incident from nodes order by id`);
  const found: Finding[] = [];
  for (const { id, state, incident } of rows) {
    const health = await requestJson<{ recovering: boolean }>(`${c.cluster.nodeUrl(id)}/v1/health`, { timeoutMs: 3000 }).catch(
      (err: Error) => err,
    );
    const key = `${id}#${incident}`;
    if (state !== 'in-service') found.push({ key, text: `${id}: ${state} in the inventory (incident ${incident})` });
    else if (health instanceof Error) found.push({ key, text: `${id}: does not answer its health (${health.message})` });
    else if (health.recovering) found.push({ key, text: `${id}: in service in the inventory, but says it is recovering` });
  }
  return found;
}

interface ServingCopy {
  volumeId: string;
  nodeId: string;
  role: string;
}

/** In-service copies on in-service nodes of the volumes in service. */
export async function servingCopies(c: ChaosCluster): Promise<ServingCopy[]> {
  const { rows } = await c.db.query<{ volume_id: string; node_id: string; role: string }>(
    `select r.volume_id, r.node_id, r.role from replicas r
     join volumes v on v.id = r.volume_id join nodes n on n.id = r.node_id
     where r.state = 'in-service' and n.state = 'in-service' and v.state in ('available', 'in-use')
     order by r.volume_id, r.node_id`,
  );
  return rows.map((r) => ({ volumeId: r.volume_id, nodeId: r.node_id, role: r.role }));
}

export function nodeApi(c: ChaosCluster, nodeId: string): HttpStorageNode {
  return new HttpStorageNode(c.cluster.nodeUrl(nodeId), nodeToken(c.cluster.layout.clusterSecret, nodeId), { timeoutMs: 30_000 });
}

/**
 * The scrub: each volume's serving copies report (epoch, writeSeq) and, where that changed since
 * the volume's last clean scrub (`scrubbed`: volume → fingerprint), their digests. Two copies at
 * the same writeSeq with different digests are divergent. Copies at different writeSeqs at rest
 * are noted, not counted.
 */
export async function divergentReplicas(
  c: ChaosCluster,
  copies: ServingCopy[],
  scrubbed: Map<string, string>,
  notes: string[],
): Promise<Finding[]> {
  const found: Finding[] = [];
  for (const [volumeId, mine] of groupBy(copies, (x) => x.volumeId)) {
    if (mine.length < 2) continue;
    const statuses = await Promise.all(
      mine.map((x) =>
        nodeApi(c, x.nodeId)
          .status(volumeId)
          .catch(() => null),
      ),
    );
    if (statuses.some((s) => !s)) continue; // a copy that does not answer is judged by the other counters
    const fingerprint = mine.map((x, i) => `${x.nodeId}@${statuses[i]!.epoch}/${statuses[i]!.writeSeq}`).join(' ');
    if (scrubbed.get(volumeId) === fingerprint) continue;
    const digests = await Promise.all(mine.map((x) => nodeApi(c, x.nodeId).digest(volumeId)));
    const seqs = new Set(digests.map((d) => d.writeSeq));
    if (seqs.size > 1) notes.push(`${volumeId}: serving copies at different writeSeqs at rest (${describe(mine, digests)})`);
    let divergent = false;
    for (const seq of seqs) {
      const same = digests.filter((d) => d.writeSeq === seq);
      if (new Set(same.map((d) => d.digest)).size > 1) divergent = true;
    }
    if (divergent)
      found.push({
        key: `${volumeId} ${fingerprint}`,
        text: `${volumeId}: digests differ at the same writeSeq (${describe(mine, digests)})`,
      });
    else scrubbed.set(volumeId, fingerprint);
  }
  return found;
}

function describe(copies: ServingCopy[], digests: { digest: string; epoch: number; writeSeq: number }[]): string {
  return copies
    .map((x, i) => `${x.nodeId} ${x.role} e${digests[i]!.epoch} seq ${digests[i]!.writeSeq} ${digests[i]!.digest.slice(0, 12)}`)
    .join('; ');
}

/**
 * Volumes whose inventory says I/O is enabled while the primary's node says it holds I/O
 * (paused, or requests held at rest). The real write through `blackstart attach` is
 * `probe.ts`'s part.
 */
export async function heldByTheirPrimary(c: ChaosCluster): Promise<Finding[]> {
  const { rows } = await c.db.query<{ id: string; epoch: number; node_id: string | null }>(
    `select v.id, v.epoch, (select r.node_id from replicas r where r.volume_id = v.id and r.role = 'primary' and r.state = 'in-service' limit 1) as node_id
     from volumes v where v.state in ('available', 'in-use') and v.io_state = 'enabled' order by v.id`,
  );
  const found: Finding[] = [];
  for (const { id, epoch, node_id } of rows) {
    if (!node_id) continue; // no serving primary: underReplicatedVolumes names it
    const key = `${id}@${epoch}`;
    const status = await nodeApi(c, node_id)
      .status(id)
      .catch(() => null);
    if (!status) continue;
    if (status.ioState !== 'enabled')
      found.push({ key, text: `${id}: enabled in the inventory, ${status.ioState} on its primary ${node_id}` });
    else if (status.heldRequests > 0)
      found.push({ key, text: `${id}: ${status.heldRequests} requests held at rest on its primary ${node_id}` });
  }
  return found;
}

/** `GET /v1/operator/health` when the API offers it: its status and reasons, or null. */
export async function operatorHealth(c: ChaosCluster): Promise<unknown> {
  return requestJson(`${c.cluster.apiUrl}/v1/operator/health`, { token: c.cluster.operatorToken, timeoutMs: 10_000 }).catch(() => null);
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
