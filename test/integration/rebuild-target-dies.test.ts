// The fleet repairs itself (issue 18): a volume whose rebuild target dies mid-rebuild is back on
// two in-service copies without anyone acting; a volume left on one copy because no node could
// take its rebuild is rebuilt by the repair loop once a node returns; and on a healthy cluster
// the repair passes do nothing at all.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRepairSchedule } from '../../api/repair-schedule.js';
import { defaultTopology } from '../../cluster/topology.js';
import { FLEET_REPAIR_SCHEDULE_ID } from '../../common/rules/repair.js';
import { eventually, nodeView, pattern, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const SIZE = 16 * 1024 * 1024;
/** Where the volume holds data: the start, the middle, the end. */
const WRITES = [0, 8 * 1024 * 1024, SIZE - 64 * 1024].map((offset) => ({ offset, data: pattern(`at-${offset}`, 64 * 1024) }));

/** The bound for the rebuild after a target died: failover of the target, then a 16 MiB rebuild in 4 KiB ranges. */
const TARGET_DIES_BOUND_MS = 45_000;
/** The bound for the repair loop once a node returns: its report and recovery, one backoff, one rebuild. */
const REPAIRED_BOUND_MS = 60_000;

describe('the repair loop', () => {
  let t: TestCluster;
  let temporal: Client;
  let connection: Connection;
  let volumeId = '';

  beforeAll(async () => {
    t = await startTestCluster('rebuild-target-dies', {
      // four power domains, one node each; a breaker that lets three of them fail over
      nodes: defaultTopology(4),
      env: {
        MASS_OUTAGE_SHARE: '0.9',
        // a rebuild of 4,096 ranges: a window of seconds to kill its target in
        REBUILD_RANGE_BYTES: '4096',
        REPAIR_INTERVAL_MS: '1000',
        REPAIR_GRACE_MS: '2000',
        REPAIR_STUCK_MS: '10000',
        REPAIR_BACKOFF_MS: '1000',
        REPAIR_BACKOFF_CAP_MS: '4000',
      },
    });
    connection = await Connection.connect({ address: t.cluster.temporalAddress });
    temporal = new Client({ connection });
    volumeId = (await t.customer.createVolume(SIZE)).volumeId;
    for (const w of WRITES) await t.customer.write(volumeId, w.offset, w.data);
  });
  afterAll(async () => {
    await connection?.close();
    await t?.stop();
  });

  /** The volume's copies (not deleted) with their node's state, primary first. */
  async function copies() {
    const { rows } = await t.db.query<{ nodeId: string; role: string; state: string; nodeState: string }>(
      `select r.node_id as "nodeId", r.role, r.state, n.state as "nodeState" from replicas r join nodes n on n.id = r.node_id
       where r.volume_id = $1 and r.state <> 'deleted' order by r.role, r.node_id`,
      [volumeId],
    );
    return rows;
  }

  /** Two in-service copies, a primary and a secondary, each on an in-service node. */
  async function onTwoServingCopies(): Promise<string[] | false> {
    const serving = (await copies()).filter((c) => c.state === 'in-service' && c.nodeState === 'in-service');
    return serving.length === 2 && serving[0]!.role === 'primary' && serving[1]!.role === 'secondary' && serving.map((c) => c.nodeId);
  }

  /** Both copies hold the same bytes, and the volume reads back what was written. */
  async function expectData(nodes: string[]): Promise<void> {
    const [primary, secondary] = await Promise.all(nodes.map((n) => nodeView(t, n, volumeId)));
    expect(secondary!.digest).toBe(primary!.digest);
    for (const w of WRITES) expect(await t.customer.read(volumeId, w.offset, w.data.length)).toEqual(w.data);
  }

  const repairOf = async (subject: string) =>
    (await t.db.query('select attempts, failing, last_error from repairs where subject = $1', [subject])).rows[0] as
      { attempts: number; failing: boolean; last_error: string | null } | undefined;

  it('does nothing on a healthy cluster: no record, no workflow besides the passes', async () => {
    const since = new Date().toISOString();
    const passes = await eventually(
      'three repair passes',
      async () => {
        const done = [];
        for await (const w of temporal.workflow.list({ query: `WorkflowType = 'repairPass' AND StartTime > '${since}'` }))
          if (w.status.name === 'COMPLETED') done.push(w);
        return done.length >= 3 && done;
      },
      30_000,
    );
    for (const p of passes) expect(await temporal.workflow.getHandle(p.workflowId, p.runId).result()).toEqual({ found: 0, actions: [] });
    const others = [];
    for await (const w of temporal.workflow.list({ query: `WorkflowType != 'repairPass' AND StartTime > '${since}'` }))
      others.push(w.workflowId);
    expect(others).toEqual([]);
    expect((await t.db.query('select count(*)::int as n from repairs')).rows[0].n).toBe(0);
  });

  it('brings a volume whose rebuild target dies mid-rebuild back to two in-service copies, with its data', async () => {
    const [primary, secondary] = (await copies()).map((c) => c.nodeId);
    await t.cluster.killNode(secondary!);
    // the secondary's failover rebuilds a new one; its target dies while the ranges are copied
    const target = await eventually(
      'a rebuild to start',
      async () => (await copies()).find((c) => c.state === 'rebuilding')?.nodeId,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await copies()).find((c) => c.nodeId === target)?.state).toBe('rebuilding');
    await t.cluster.killNode(target);
    const killedAt = Date.now();

    const serving = await eventually('two in-service copies again', onTwoServingCopies, TARGET_DIES_BOUND_MS);
    expect(serving[0]).toBe(primary);
    expect(serving).not.toContain(target);
    expect(Date.now() - killedAt).toBeLessThan(TARGET_DIES_BOUND_MS);
    await expectData(serving);
  });

  it('rebuilds a volume no node could take a rebuild for once a node returns, after failing with backoff meanwhile', async () => {
    const [primary, secondary] = (await onTwoServingCopies()) || [];
    const down = (await t.db.query(`select id from nodes where state = 'down' order by id`)).rows.map((r) => r.id as string);
    expect(down).toHaveLength(2);
    // the last other node dies: the primary serves alone, and no node is left for its rebuild
    await t.cluster.killNode(secondary!);
    await eventually('the primary to serve alone', async () => {
      const c = await copies();
      return c.filter((x) => x.state !== 'stale').length === 1 && c[0]!.nodeId === primary && c[0]!.state === 'in-service';
    });
    // the loop tries, finds no place, backs off, and says it is failing
    const failing = await eventually(
      'the repair to be failing',
      async () => (await repairOf(`volume:${volumeId}`))?.failing && repairOf(`volume:${volumeId}`),
      30_000,
    );
    expect(failing!.attempts).toBeGreaterThanOrEqual(3);
    expect(failing!.last_error).toMatch(/did not repair it/);

    // power returns to one node: it reports, its stale copy goes, and the loop rebuilds onto it
    await t.cluster.startNode(down[0]!);
    const serving = await eventually('two in-service copies again', onTwoServingCopies, REPAIRED_BOUND_MS);
    expect(serving).toEqual([primary, down[0]]);
    await expectData(serving);
    const repairs = [];
    for await (const w of temporal.workflow.list({ query: `WorkflowType = 'volumeRebuild'` }))
      if (w.workflowId.startsWith(`volume-repair-${volumeId}-`)) repairs.push(w.status.name);
    expect(repairs.length).toBeGreaterThanOrEqual(4);
    expect(repairs).toContain('COMPLETED');
    await eventually('the repair record to go', async () => (await repairOf(`volume:${volumeId}`)) === undefined, 10_000);

    // once every dead node returns and recovers, nothing is left for health to report
    await Promise.all([down[1]!, secondary!].map((n) => t.cluster.startNode(n)));
    await eventually('blackstart health ok', async () => (await t.operator.health()).status === 'ok', 60_000);
  });

  it("keeps one schedule however often an API ensures it, and an operator's pause survives an API restart", async () => {
    const handle = temporal.schedule.getHandle(FLEET_REPAIR_SCHEDULE_ID);
    expect(await ensureRepairSchedule(temporal, { enabled: true, intervalMs: 1000 })).toBe('unchanged');
    await handle.pause('operator: maintenance');
    expect(await ensureRepairSchedule(temporal, { enabled: true, intervalMs: 1000 })).toBe('unchanged');
    expect((await handle.describe()).state).toMatchObject({ paused: true, note: 'operator: maintenance' });
    await handle.unpause();
    expect(await ensureRepairSchedule(temporal, { enabled: false, intervalMs: 2000 })).toBe('updated');
    // an update reaches the schedule as a signal: a describe right after may not show it yet
    const paused = await eventually(
      'the schedule paused at the new interval',
      async () => {
        const now = await handle.describe();
        return now.spec.intervals?.[0]?.every === 2000 && now;
      },
      10_000,
    );
    expect(paused.state.paused).toBe(true);
    expect(paused.spec.intervals).toEqual([expect.objectContaining({ every: 2000 })]);
    const schedules = [];
    for await (const s of temporal.schedule.list()) schedules.push(s.scheduleId);
    expect(schedules.filter((id) => id === FLEET_REPAIR_SCHEDULE_ID)).toHaveLength(1);
  });
});
