// Issue 18: a 2-second power loss of the whole data center, repeated 5 s after power returned, on
// the timings `npm start` uses. Afterwards, once the owners decided: no 5xx anywhere, every node in
// service, no recovery workflow left running, and every volume on two in-service copies with its data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, pattern, startTestCluster, type TestCluster } from '../support/test-cluster.js';
import { errorLines, nodesNotInService, runningWorkflows, underReplicated } from '../support/convergence.js';

/** cluster/main.ts's defaults: what a new user starts with. */
const NPM_START_TIMINGS = {
  HEARTBEAT_MS: '1000',
  HEARTBEAT_TIMEOUT_MS: '5000',
  MONITOR_INTERVAL_MS: '1000',
  REPORT_RETRY_MS: '500',
  PEER_WAIT_MS: '15000',
  RECONCILE_MS: '5000',
};
const MiB = 1024 * 1024;

describe('a whole data center flickers twice', () => {
  let t: TestCluster;
  const volumes: { id: string; data: Buffer; auto: boolean }[] = [];

  beforeAll(async () => {
    t = await startTestCluster('power-flicker', { env: NPM_START_TIMINGS });
    for (const [i, auto] of [false, true, false].entries()) {
      const { volumeId } = await t.customer.createVolume(8 * MiB, auto);
      const data = pattern(`volume ${i} before the flicker`, 64 * 1024);
      await t.customer.write(volumeId, MiB * i, data);
      volumes.push({ id: volumeId, data, auto });
    }
  });
  afterAll(() => t?.stop());

  async function flicker(): Promise<void> {
    const killed = await t.cluster.powerFail('dc', 'dc1');
    await new Promise((r) => setTimeout(r, 2000));
    await Promise.all(killed.map((n) => t.cluster.startNode(n)));
  }

  /** The owners enable I/O on every volume that asks for a decision, until each serves from two copies. */
  async function decideUntilServing(): Promise<void> {
    await eventually(
      'every volume serving from two copies with I/O enabled',
      async () => {
        let serving = 0;
        for (const v of volumes) {
          const status = await t.customer.status(v.id);
          if (status.actions.length > 0) await t.customer.enableIo(v.id);
          else if (status.volumeStatus.status === 'ok') serving++;
        }
        return serving === volumes.length;
      },
      240_000,
    );
  }

  it(
    'converges: every node in service, two in-service copies each with its data, nothing left running, no 5xx',
    { timeout: 600_000 },
    async () => {
      await flicker();
      await new Promise((r) => setTimeout(r, 5000));
      await flicker();
      await decideUntilServing();

      await eventually('every node in service', async () => (await nodesNotInService(t)).length === 0, 120_000);
      await eventually('every volume on two in-service copies', async () => (await underReplicated(t)).length === 0, 180_000);
      await eventually('no recovery workflow running', async () => (await runningWorkflows(t)).length === 0, 120_000);
      for (const [i, v] of volumes.entries()) {
        expect((await t.customer.read(v.id, MiB * i, v.data.length)).equals(v.data)).toBe(true);
        // "enabled" means a write completes: no copy still holds I/O
        const later = pattern(`volume ${i} after the flicker`, 4096);
        await t.customer.write(v.id, 4 * MiB, later, AbortSignal.timeout(20_000));
        expect((await t.customer.read(v.id, 4 * MiB, later.length)).equals(later)).toBe(true);
      }
      expect(await errorLines(t)).toEqual([]);
      await eventually('blackstart health ok', async () => (await t.operator.health()).status === 'ok', 60_000);
    },
  );
});
