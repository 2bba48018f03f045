// Issue 20: two API processes and two workers. One of each dies in the middle of a data center's
// recovery; the survivors finish it with nothing lost, no customer request answered with an
// error, and every workflow finished. The survivor's heartbeat monitor takes the lease over.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allAutoEnabled,
  copiesOf,
  eventually,
  pattern,
  startTestCluster,
  volumesWithData,
  type TestCluster,
} from '../support/test-cluster.js';

/** The customer asks about every volume, over and over, through the client that knows both APIs; every error counts. */
function customerTraffic(t: TestCluster, volumes: string[]) {
  const errors: string[] = [];
  let requests = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const v of volumes) {
        requests++;
        await t.customer.status(v).catch((err: Error) => errors.push(`${v}: ${err.message}`));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    errors,
    get requests() {
      return requests;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const ACQUIRED = 'lease heartbeat-monitor: acquired';
const logOf = (t: TestCluster, i: number) => readFileSync(join(t.cluster.logDir, `${t.cluster.apis[i]!.spec.name}.log`), 'utf8');
const acquisitions = (t: TestCluster, i: number) => logOf(t, i).split(ACQUIRED).length - 1;

/**
 * Makes the first API (the one every node and client tries first) hold the heartbeat monitor's
 * lease, so that killing it tests both moves: the clients' to the second API, and the lease's.
 */
async function firstApiHoldsTheLease(t: TestCluster): Promise<void> {
  await eventually('one API holding the lease', async () => acquisitions(t, 0) + acquisitions(t, 1) === 1);
  if (acquisitions(t, 0) === 1) return;
  await t.cluster.apis[1]!.kill();
  await eventually('the first API taking the lease over', async () => acquisitions(t, 0) === 1);
  await t.cluster.startApi(1);
}

describe('a control plane of two APIs and two workers', () => {
  let t: TestCluster;
  let volumes: string[] = [];
  let secondApiAcquired = 0;

  beforeAll(async () => {
    t = await startTestCluster('redundant-control', { apis: 2, workers: 2 });
    volumes = await volumesWithData(t, 8, 256 * 1024, 12_000, true);
    await firstApiHoldsTheLease(t);
  });
  afterAll(() => t?.stop());

  it('loses one API and one worker mid-recovery and still restores every volume, with no customer error', async () => {
    const traffic = customerTraffic(t, volumes);
    await t.cluster.powerFail('dc', 'dc1');
    await Promise.all([...t.cluster.nodes.keys()].map((n) => t.cluster.startNode(n)));
    await eventually('a recovery admitted', async () => (await t.operator.recoveries()).recoveries.length > 0, 60_000);

    secondApiAcquired = acquisitions(t, 1);
    await Promise.all([t.cluster.apis[0]!.kill(), t.cluster.workers[0]!.kill()]);

    await allAutoEnabled(t, volumes, 120_000);
    await eventually('every node back in service', async () => (await t.operator.fleet()).summary.inService === 6, 60_000);
    await eventually('every recovery finished', async () => (await t.operator.recoveries()).recoveries.every((r) => r.inServiceAt));
    await traffic.stop();
    expect(traffic.requests).toBeGreaterThan(volumes.length);
    expect(traffic.errors).toEqual([]);
    for (const v of volumes) {
      await eventually(`${v} has two serving copies`, async () => {
        const copies = await copiesOf(t, v);
        return copies.length === 2 && copies.every((c) => c.state === 'in-service');
      });
      expect(await t.customer.read(v, 0, 12_000)).toEqual(pattern(v, 12_000));
    }
  });

  it('fails over a node that dies afterwards: the surviving API took the heartbeat monitor over', async () => {
    expect(t.cluster.apis[0]!.running).toBe(false);
    expect(acquisitions(t, 1)).toBe(secondApiAcquired + 1);
    const [nodeId] = [...t.cluster.nodes.keys()];
    await t.cluster.killNode(nodeId!);
    await eventually(
      `${nodeId} declared down`,
      async () => (await t.operator.fleet()).nodes.some((n) => n.nodeId === nodeId && n.state !== 'in-service'),
      30_000,
    );
    await t.cluster.startNode(nodeId!);
    await eventually('the node back in service', async () => (await t.operator.fleet()).summary.inService === 6, 90_000);
  });
});
