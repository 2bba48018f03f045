// A server recovery is told once, when the last of its offers is resolved, not once per copy:
// the coordination and incident activities against a real Postgres and the real Temporal dev
// server. The incidents are plain workflows no worker runs, so their histories show every signal.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinationActivities } from '../../activities/coordination.js';
import { createIncidentActivities } from '../../activities/incidents.js';
import { NodeClient } from '../../api/node-client.js';
import { recordOffered } from '../../api/repositories/incident-offers.js';
import { CONTROL_TASK_QUEUE } from '../../common/messages.js';
import { seedInventory } from '../support/inventory-fixtures.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';
import { startWorkflowEnv } from '../support/workflow-env.js';

const dbName = `blackstart_offers_${process.pid}_${Date.now() % 100000}`;
const VOLUMES = Array.from({ length: 12 }, (_, i) => `vol-${i}`);

describe('an incident is told once, when its last offer is resolved', () => {
  let db: pg.Pool;
  let env: TestWorkflowEnvironment;
  let coordination: ReturnType<typeof createCoordinationActivities>;
  let incidents: ReturnType<typeof createIncidentActivities>;

  beforeAll(async () => {
    env = await startWorkflowEnv();
    ({ db } = await migratedTestDatabase(dbName));
    await seedInventory(db, ['n1', 'n2'], VOLUMES);
    coordination = createCoordinationActivities(env.client, db, { peerWaitMs: 1000, reviewDeadlineMs: 1000 });
    incidents = createIncidentActivities(db, new NodeClient(db, 'a-cluster-secret-of-some-length'));
  });

  afterAll(async () => {
    await db?.end();
    await env?.teardown();
    await admin(`drop database if exists ${dbName} with (force)`);
  });

  /** An incident's workflow that only collects signals, and the names of those it received. */
  async function incident(id: string): Promise<() => Promise<string[]>> {
    const handle = await env.client.workflow.start('serverRecovery', { workflowId: id, taskQueue: `${CONTROL_TASK_QUEUE}-idle`, args: [] });
    return async () =>
      ((await handle.fetchHistory()).events ?? []).flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
  }

  const resolve = (serverRecoveryId: string, volumeId: string) =>
    coordination.notifyCopyResolved({ serverRecoveryId, volumeId, outcome: 'IO enabled' });

  it('hears nothing while any offer is unresolved, then one signal for the last, however many resolve at once', async () => {
    const signals = await incident('inc-together');
    for (const v of VOLUMES) await recordOffered(db, 'inc-together', v);

    await Promise.all(VOLUMES.slice(0, -1).map((v) => resolve('inc-together', v)));
    expect(await signals()).toEqual([]);

    await resolve('inc-together', VOLUMES.at(-1)!);
    expect(await signals()).toEqual(['offersResolved']);
  });

  it('hears one signal when all its offers resolve concurrently', async () => {
    const signals = await incident('inc-race');
    for (const v of VOLUMES) await recordOffered(db, 'inc-race', v);
    await Promise.all(VOLUMES.map((v) => resolve('inc-race', v)));
    expect(await signals()).toEqual(['offersResolved']);
  });

  it('is told of an offer made before offers were recorded on its own, as before', async () => {
    const signals = await incident('inc-legacy');
    await resolve('inc-legacy', 'vol-0');
    expect(await signals()).toEqual(['copyResolved']);
  });

  it('counts an offer its recovery resolved as settled on its re-read, though the copy stays undecided', async () => {
    await db.query(`update replicas set state = 'candidate' where node_id = 'n1'`);
    await recordOffered(db, 'inc-reread', 'vol-0');
    await recordOffered(db, 'inc-reread', 'vol-1');
    await incident('inc-reread');
    await resolve('inc-reread', 'vol-0'); // e.g. its delete was refused: the copy is still a candidate
    const found = await incidents.reconcileIncident({ nodeId: 'n1', workflowId: 'inc-reread', volumeIds: ['vol-0', 'vol-1'] });
    expect(found).toEqual({ kind: 'waiting', unsettled: ['vol-1'] });
  });

  it('forgets its offers when it finishes: a late resolution is told on its own, to an incident that is gone', async () => {
    await recordOffered(db, 'inc-done', 'vol-2');
    await incidents.finishIncident({ workflowId: 'inc-done' });
    const { rows } = await db.query(`select 1 from incident_offers where workflow_id = 'inc-done'`);
    expect(rows).toEqual([]);
    await expect(resolve('inc-done', 'vol-2')).resolves.toBeUndefined(); // no such workflow: nothing waits
  });
});
