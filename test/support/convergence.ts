// What "the cluster is clean" means after overlapping faults, as checks a test can wait on: every
// node in service, every volume on two in-service copies, no recovery workflow left running, and
// no unexpected 5xx answer or database protocol error in any process log.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TestCluster } from './test-cluster.js';

/** Workflows that run on a schedule by design: never "left running". */
const PERIODIC = new Set(['repairPass', 'snapshotPolicy']);

export async function nodesNotInService(t: TestCluster): Promise<string[]> {
  const { rows } = await t.db.query(`select id, state from nodes where state <> 'in-service' order by id`);
  return rows.map((r) => `${r.id} ${r.state}`);
}

/** Volumes (not deleted or archived) with fewer than two in-service copies on in-service nodes. */
export async function underReplicated(t: TestCluster): Promise<string[]> {
  const { rows } = await t.db.query(
    `select v.id, count(r.node_id) filter (where r.state = 'in-service' and n.state = 'in-service')::int as serving
     from volumes v left join replicas r on r.volume_id = v.id left join nodes n on n.id = r.node_id
     where v.state in ('available', 'in-use') group by v.id having count(r.node_id) filter (where r.state = 'in-service' and n.state = 'in-service') < 2`,
  );
  return rows.map((r) => `${r.id} (${r.serving} in service)`);
}

export async function runningWorkflows(t: TestCluster): Promise<string[]> {
  const connection = await Connection.connect({ address: t.cluster.temporalAddress });
  try {
    const client = new Client({ connection });
    const running: string[] = [];
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      if (!PERIODIC.has(w.type)) running.push(`${w.type} ${w.workflowId}`);
    }
    return running;
  } finally {
    await connection.close();
  }
}

/**
 * Lines of any process log that answered a 5xx other than 503, or report a database protocol
 * error. A 503 carries a code for an expected, passing condition (a node still recovering, a peer
 * gone) and is retried; any other 5xx is a surprise.
 */
export async function errorLines(t: TestCluster): Promise<string[]> {
  const dir = t.cluster.logDir;
  const found: string[] = [];
  for (const file of await readdir(dir)) {
    const text = await readFile(join(dir, file), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const unexpected5xx = /"msg":"request"/.test(line) && /"status":5(0[0-24-9]|[1-9]\d)\b/.test(line);
      if (unexpected5xx || /bind message supplies|prepared statement ".*" (does not exist|requires)/.test(line)) {
        found.push(`${file}: ${line.slice(0, 300)}`);
      }
    }
  }
  return found;
}
