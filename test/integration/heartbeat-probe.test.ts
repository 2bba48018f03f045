// The heartbeat monitor against a real Postgres and real HTTP servers standing as the nodes'
// health endpoints: a silent node that answers a probe as the boot it heartbeat from and serving,
// or as itself and recovering with its report on the way (sent from this boot or a new one, or in
// the admission queue), is kept (its heartbeats were late); one that restarted with nothing to
// report, is recovering with no report to deliver or does not answer is failed over as before, on
// the real Temporal dev server (no worker runs them: they are only started).
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { checkOnce } from '../../api/heartbeat-monitor.js';
import { NodeClient } from '../../api/node-client.js';
import { recordRejection, upsertNode } from '../../api/repositories/nodes.js';
import type { Deps } from '../../api/use-cases/deps.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';
import { startWorkflowEnv } from '../support/workflow-env.js';

const SECRET = 'a-cluster-secret-of-some-length';
const dbName = `blackstart_probe_${process.pid}_${Date.now() % 100000}`;

/** What each silent node's health endpoint answers (null: it does not answer at all). */
const ANSWERS: Record<string, { bootId: string; recovering: boolean; reporting: boolean } | null> = {
  late: { bootId: 'boot-1', recovering: false, reporting: false }, // alive and serving: only its heartbeats were late
  restarted: { bootId: 'boot-2', recovering: true, reporting: false }, // crashed and came back, with nothing reported yet: another boot
  crashed: { bootId: 'boot-2', recovering: true, reporting: true }, // crashed, came back and reports it; its first heartbeat is late
  holding: { bootId: 'boot-1', recovering: true, reporting: false }, // lost the network and holds its I/O
  queued: { bootId: 'boot-1', recovering: true, reporting: true }, // restarted, reported, and waits its turn in the admission queue
  reporting: { bootId: 'boot-1', recovering: true, reporting: true }, // restarted, and its report is not answered yet (a busy API)
  dead: null,
};

describe('the heartbeat monitor probes a silent node before failing it over', () => {
  let db: pg.Pool;
  let env: TestWorkflowEnvironment;
  const servers: Server[] = [];

  beforeAll(async () => {
    env = await startWorkflowEnv();
    ({ db } = await migratedTestDatabase(dbName));
    const domain = (i: number) => ({ dc: 'dc1', zone: 'az1', router: 'r1', power: `p${i}`, host: `h${i}` });
    for (const [i, [id, answer]] of Object.entries(ANSWERS).entries()) {
      const server = createServer((req, res) => {
        if (answer && req.url === '/v1/health')
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ nodeId: id, ...answer }));
        // a dead node's port accepts and never answers: the probe's timeout decides
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      await upsertNode(
        db,
        { id, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, nbdAddress: '' },
        domain(i),
        1 << 30,
        0,
      );
      await db.query(`update nodes set boot_id = 'boot-1', last_heartbeat = now() - interval '1 minute' where id = $1`, [id]);
    }
    await recordRejection(db, 'queued'); // its report was turned away by the admission bound
    // the rest of the fleet heartbeats: seven silent nodes out of twenty-three do not trip the mass-outage breaker
    for (let i = 0; i < 16; i++)
      await upsertNode(db, { id: `ok${i}`, url: 'http://127.0.0.1:1', nbdAddress: '' }, domain(10 + i), 1 << 30, 60_000);
  });

  afterAll(async () => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await db?.end();
    await env?.teardown();
    await admin(`drop database if exists ${dbName} with (force)`);
  });

  it('keeps the nodes that answer as themselves, serving or with their report on the way, and fails over the restarted with nothing to report, the holding and the dead', async () => {
    const config = loadApiConfig({
      DATABASE_URL: 'postgres://unused',
      CLUSTER_SECRET: SECRET,
      OPERATOR_TOKEN: 'an-operator-token-of-some-length',
      SNAPSHOT_STORE: '/nowhere',
    });
    const deps = { db, config, temporal: env.client, nodes: new NodeClient(db, SECRET) } as unknown as Deps;

    await checkOnce(deps, { open: false });

    const { rows } = await db.query(
      `select id, state, last_heartbeat > now() - interval '10 seconds' as heard from nodes where id = any($1) order by id`,
      [Object.keys(ANSWERS)],
    );
    expect(rows).toEqual([
      { id: 'crashed', state: 'in-service', heard: true }, // heard of, as the boot its heartbeats will change
      { id: 'dead', state: 'down', heard: false },
      { id: 'holding', state: 'down', heard: false },
      { id: 'late', state: 'in-service', heard: true },
      { id: 'queued', state: 'in-service', heard: true },
      { id: 'reporting', state: 'in-service', heard: true },
      { id: 'restarted', state: 'down', heard: false },
    ]);
    const failovers = async () => {
      const found: string[] = [];
      for (const id of Object.keys(ANSWERS)) {
        const described = await env.client.workflow
          .getHandle(`node-failover-${id}-1`)
          .describe()
          .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? null : Promise.reject(err)));
        if (described) found.push(id);
      }
      return found;
    };
    expect(await failovers()).toEqual(['restarted', 'holding', 'dead']);

    await checkOnce(deps, { open: false }); // heard of now: not probed or failed over on the next check
    const { rows: late } = await db.query(`select state, incident from nodes where id = 'late'`);
    expect(late).toEqual([{ state: 'in-service', incident: 0 }]);
    expect(await failovers()).toEqual(['restarted', 'holding', 'dead']);

    const breaker = { open: true }; // tripped by an outage whose nodes have all been heard from since
    await checkOnce(deps, breaker);
    expect(breaker.open).toBe(false); // its end is noted (and logged) with no node silent
  });
});
