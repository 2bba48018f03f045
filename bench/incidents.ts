// How the node incidents of a fleet outage ended: the most incidents any node was admitted since
// the power returned (issue 18: at most 2), and the server recoveries Temporal still runs once
// every volume is restored (0: no recovery left stranded).
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';

export async function incidentsPerNodeMax(db: pg.Pool, since: number): Promise<number> {
  const { rows } = await db.query(
    `select coalesce(max(n), 0)::int as most from
       (select count(*) as n from recovery_events where admitted_at >= to_timestamp($1::double precision / 1000) group by node_id) c`,
    [since],
  );
  return rows[0].most as number;
}

/** Server recoveries still running, after waiting up to `settleMs` for them to finish. */
export async function serverRecoveriesOpenAtEnd(temporalAddress: string, settleMs: number): Promise<number> {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    const deadline = Date.now() + settleMs;
    for (;;) {
      const { count } = await client.workflow.count(`WorkflowType = 'serverRecovery' AND ExecutionStatus = 'Running'`);
      if (count === 0 || Date.now() > deadline) return count;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await connection.close();
  }
}
