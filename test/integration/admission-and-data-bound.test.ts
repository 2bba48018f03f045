// Throttling (patent: the control plane answers only a portion of the reports): past the bound
// of concurrent server recoveries, reports get 429 + Retry-After and are admitted later as
// others finish; restores run on the data queue and never exceed its concurrency bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxOverlap } from '../../bench/progress.js';
import {
  allAutoEnabled,
  eventually,
  operationsOf,
  pattern,
  startTestCluster,
  volumesWithData,
  type TestCluster,
} from '../support/test-cluster.js';

const DATA_CONCURRENCY = 2;

describe('a data-center outage with admission bounded to one server at a time', () => {
  let t: TestCluster;
  let volumes: string[] = [];

  beforeAll(async () => {
    t = await startTestCluster('admission', { env: { DATA_CONCURRENCY: String(DATA_CONCURRENCY), RETRY_AFTER_SECONDS: '1' } });
    volumes = await volumesWithData(t, 8, 8 * 1024 * 1024, 64 * 1024, true);
    await t.operator.setThrottle({ maxConcurrentRecoveries: 1, massOutageShare: 1 / 3 });
  });
  afterAll(() => t?.stop());

  it('admits one server recovery at a time, the others later, and bounds concurrent restores', async () => {
    await t.cluster.powerFail('dc', 'dc1');
    await Promise.all([...t.cluster.nodes.keys()].map((n) => t.cluster.startNode(n)));

    const seenWaiting = await eventually('a node waiting for admission', async () => (await t.operator.admission()).waiting.length > 0);
    expect(seenWaiting).toBe(true);
    await eventually('every node back in service', async () => (await t.operator.fleet()).summary.inService === 6, 120_000);
    await allAutoEnabled(t, volumes, 40_000);

    const admission = await t.operator.admission();
    expect(admission.rejectionsTotal).toBeGreaterThan(0);
    expect(admission.maxConcurrentRecoveries).toBe(1);

    // server recoveries never overlapped between admission and return to service
    const { recoveries } = await t.operator.recoveries();
    expect(recoveries).toHaveLength(6);
    expect(maxOverlap(recoveries.map((r) => [Date.parse(r.admittedAt), Date.parse(r.inServiceAt!)]))).toBe(1);

    // restores, counted on the nodes themselves, never exceeded the data queue's bound
    const restores: [number, number][] = [];
    for (const nodeId of t.cluster.nodes.keys()) {
      for (const op of await operationsOf(t, nodeId)) {
        if (op.op === 'restore') restores.push([Date.parse(op.startedAt!), Date.parse(op.at)]);
      }
    }
    expect(restores.length).toBeGreaterThanOrEqual(volumes.length);
    expect(maxOverlap(restores)).toBeLessThanOrEqual(DATA_CONCURRENCY);
    for (const v of volumes) expect(await t.customer.read(v, 0, 64 * 1024)).toEqual(pattern(v, 64 * 1024));
  });
});
