// Issue 11: the Temporal server process is SIGKILLed in the middle of a data-center recovery and
// started again on the same store — the dev server's SQLite file, or with
// BLACKSTART_TEMPORAL=postgres (scripts/test.sh runs this file so too) the server on Postgres.
// Every recovery finishes, and the Web UI beside the server lists them afterwards.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalKind } from '../../cluster/temporal-postgres.js';
import {
  allAutoEnabled,
  copiesOf,
  eventually,
  pattern,
  startTestCluster,
  volumesWithData,
  type TestCluster,
} from '../support/test-cluster.js';

describe(`the Temporal server (${temporalKind()}) dies in the middle of a data-center recovery`, () => {
  let t: TestCluster;
  let volumes: string[] = [];
  let reviewed = '';

  beforeAll(async () => {
    t = await startTestCluster('temporal-crash', { withUi: true });
    volumes = await volumesWithData(t, 6, 256 * 1024, 12_000, true);
    reviewed = (await volumesWithData(t, 1, 256 * 1024, 12_000, false))[0]!; // its recovery waits for the customer
  });
  afterAll(() => t?.stop());

  it('finishes every recovery after the server restarts, and no workflow is left running', async () => {
    await t.cluster.powerFail('dc', 'dc1');
    await Promise.all([...t.cluster.nodes.keys()].map((n) => t.cluster.startNode(n)));
    // mid-recovery: a server recovery admitted, volumes not yet re-enabled
    await eventually('a server recovery under way', async () => (await t.operator.recoveries()).recoveries.length > 0, 60_000);
    await t.cluster.killTemporal();
    const { rows } = await t.db.query(
      `select count(*)::int as n from volume_events where description = 'IO Auto-Enabled' and ended_at is not null`,
    );
    expect(rows[0].n, 'volumes re-enabled before the kill').toBeLessThan(volumes.length);
    await new Promise((r) => setTimeout(r, 2000)); // reports, polls and activities fail meanwhile
    await t.cluster.startTemporal();

    await allAutoEnabled(t, volumes, 120_000);
    await eventually('the reviewed volume awaiting a decision', async () => (await t.customer.status(reviewed)).actions.length > 0, 60_000);
    expect(await t.customer.enableIo(reviewed)).toMatchObject({ ioState: 'enabled' });
    await eventually('every node back in service', async () => (await t.operator.fleet()).summary.inService === 6);
    const { recoveries } = await t.operator.recoveries();
    expect(recoveries.length).toBeGreaterThanOrEqual(6);
    expect(recoveries.filter((r) => !r.inServiceAt)).toEqual([]);
    for (const v of [...volumes, reviewed]) {
      expect(await t.customer.read(v, 0, 12_000)).toEqual(pattern(v, 12_000));
      const copies = await eventually(`${v} with two copies in service`, async () => {
        const c = await copiesOf(t, v);
        return c.length === 2 && c.every((r) => r.state === 'in-service') && c;
      });
      expect(copies).toHaveLength(2);
    }
    const connection = await Connection.connect({ address: t.cluster.temporalAddress });
    try {
      const client = new Client({ connection });
      await eventually(
        'no workflow running',
        async () => {
          for await (const w of client.workflow.list({ query: 'ExecutionStatus="Running"' })) return !w;
          return true;
        },
        60_000,
      );
    } finally {
      await connection.close();
    }

    // The Web UI (the dev server's own, or the UI server beside the server on Postgres) answers
    // from the restarted server: the namespace, and the server recoveries in its workflow list.
    const ui = t.cluster.uiUrl!;
    const namespaces = await fetch(`${ui}/api/v1/namespaces`).catch((err: Error) => {
      throw new Error(`no Temporal UI at ${ui} (for the server on Postgres: did ui-server build?): ${err.message}`);
    });
    expect(namespaces.status).toBe(200);
    expect(await namespaces.text()).toContain('"default"');
    const query = encodeURIComponent('WorkflowType="serverRecovery"');
    const listed = await eventually('the recoveries in the UI', async () => {
      const res = await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${query}`);
      const body = res.status === 200 ? await res.text() : '';
      return recoveries.every((r) => body.includes(r.workflowId)) && body;
    });
    expect(listed).toContain(recoveries[0]!.workflowId);
  });
});
