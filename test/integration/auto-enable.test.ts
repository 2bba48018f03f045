// Spec test 3: both copies return with equal epoch, writeSeq and digest. With autoEnableIo the
// volume is re-enabled without a person ("IO Auto-Enabled", with the proof); without it, it waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, pattern, REVIEW_ACTION_CODES, startTestCluster, type TestCluster, reviewEvent } from '../support/test-cluster.js';

describe('a whole data center loses power and every node returns', () => {
  let t: TestCluster;
  let auto = '';
  let manual = '';

  beforeAll(async () => {
    t = await startTestCluster('auto-enable');
    auto = (await t.customer.createVolume(512 * 1024, true)).volumeId;
    manual = (await t.customer.createVolume(512 * 1024, false)).volumeId;
    for (const v of [auto, manual]) await t.customer.write(v, 8192, pattern(v, 20_000));
    await t.cluster.powerFail('dc', 'dc1');
    await Promise.all([...t.cluster.nodes.keys()].map((n) => t.cluster.startNode(n)));
  });
  afterAll(() => t?.stop());

  it('re-enables the autoEnableIo volume on its own, with the proof that allowed it', async () => {
    const status = await eventually('auto-enable', async () => {
      const s = await t.customer.status(auto);
      return s.events.some((e) => e.description === 'IO Auto-Enabled') && s;
    });
    expect(status.actions).toEqual([]);
    expect(status.volumeStatus.details, JSON.stringify(status)).toEqual([{ name: 'io-enabled', status: 'passed' }]);
    const event = status.events.find((e) => e.eventType === 'potential-data-inconsistency')!;
    expect(event.notAfter).not.toBeNull();
    expect(event.proof).toMatch(/agree on epoch 1, writeSeq 1, sha256 [0-9a-f]{64}/);
    expect(await t.customer.read(auto, 8192, 20_000)).toEqual(pattern(auto, 20_000));
  });

  it('leaves the other volume waiting for its customer, then enables it on request', async () => {
    await eventually('manual volume awaiting a decision', async () => (await t.customer.status(manual)).actions.length > 0);
    await new Promise((r) => setTimeout(r, 1000));
    const waiting = await t.customer.status(manual);
    expect(waiting.actions.map((a) => a.code)).toEqual(REVIEW_ACTION_CODES);
    expect(reviewEvent(waiting).description).toBe('Awaiting Action: Enable IO');
    expect((await t.customer.volume(manual)).ioState).toBe('paused');

    await t.customer.enableIo(manual);
    expect(reviewEvent(await t.customer.status(manual)).description).toBe('IO Enabled');
    expect(await t.customer.read(manual, 8192, 20_000)).toEqual(pattern(manual, 20_000));
  });
});
