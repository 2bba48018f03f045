// The mass-outage breaker (DESIGN: the 2011 EBS re-mirroring storm): when more than a third of
// the fleet goes silent at once, nothing is failed over; the nodes are waited for. When they
// report, their copies are recovered, not thrown away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copiesOf,
  eventually,
  pattern,
  startTestCluster,
  TEST_TIMINGS,
  volumesWithData,
  type TestCluster,
} from '../support/test-cluster.js';

describe('half the fleet loses power at once', () => {
  let t: TestCluster;
  let volumes: string[] = [];

  beforeAll(async () => {
    t = await startTestCluster('breaker');
    volumes = await volumesWithData(t, 6, 128 * 1024, 5000, true);
  });
  afterAll(() => t?.stop());

  it('holds failover while the nodes are away, then recovers every volume when they report', async () => {
    const killed = [...(await t.cluster.powerFail('router', 'r1'))];
    expect(killed.length / t.cluster.nodes.size).toBeGreaterThan(1 / 3);

    await new Promise((r) => setTimeout(r, 3 * Number(TEST_TIMINGS.HEARTBEAT_TIMEOUT_MS)));
    for (const v of volumes) expect((await t.customer.volume(v)).epoch, `${v} was failed over`).toBe(1);
    expect((await t.operator.fleet()).summary.down).toBe(0);

    await Promise.all(killed.map((n) => t.cluster.startNode(n)));
    await eventually('every node back in service', async () => (await t.operator.fleet()).summary.inService === 6, 90_000);
    await eventually(
      'every volume serving',
      async () => {
        for (const v of volumes)
          if ((await t.customer.volume(v)).ioState !== 'enabled' || (await copiesOf(t, v)).some((c) => c.state !== 'in-service'))
            return false;
        return true;
      },
      90_000,
    );
    for (const v of volumes) expect(await t.customer.read(v, 0, 5000)).toEqual(pattern(v, 5000));
  });
});
