// What an attached block client sees through failures: held requests (latency, never an error)
// while a volume is restored or failed over, a read-only review export of the restored copy,
// and every write it saw acknowledged readable afterwards. Power loss is SIGKILL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachVolume, nbdInfo, qemuIo, runTool, startTool, type AttachedVolume } from '../support/nbd.js';
import { copiesOf, eventually, powerOf, reviewEvent, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const MiB = 1024 * 1024;

describe('attached block clients through outages', () => {
  let t: TestCluster;
  const attached: AttachedVolume[] = [];
  const attachNew = async (autoEnableIo: boolean, sizeBytes = 16 * MiB) => {
    const { volumeId } = await t.customer.createVolume(sizeBytes, autoEnableIo);
    const a = await attachVolume(t, volumeId, t.customer.token);
    attached.push(a);
    return { volumeId, uri: a.uri };
  };

  beforeAll(async () => {
    t = await startTestCluster('nbd-outages');
  });
  afterAll(async () => {
    await Promise.all(attached.map((a) => a.stop()));
    await t?.stop();
  });

  it('holds a write through a power-domain outage and the review, serves the review read-only, and completes it after enable-io', async () => {
    const { volumeId, uri } = await attachNew(false);
    expect((await qemuIo(uri, ['write -P 0xab 0 64k']).done).code).toBe(0);

    const powers = [...new Set((await copiesOf(t, volumeId)).map((c) => powerOf(t, c.nodeId)))];
    const killed = (await Promise.all(powers.map((p) => t.cluster.powerFail('power', p)))).flat();
    const held = qemuIo(uri, ['write -P 0x5a 0 4k']);
    const heldSince = Date.now();
    await Promise.all(killed.map((n) => t.cluster.startNode(n)));

    await eventually('the volume awaiting a decision', async () => (await t.customer.status(volumeId)).actions.length > 0);
    expect(reviewEvent(await t.customer.status(volumeId)).description).toBe('Awaiting Action: Enable IO');
    await new Promise((r) => setTimeout(r, 1000));
    expect(held.settled).toBe(false);

    const review = await attachVolume(t, volumeId, t.customer.token, { review: true });
    try {
      expect(await nbdInfo(review.uri)).toMatchObject({ 'export-size': 16 * MiB, is_read_only: true });
      const read = await qemuIo(review.uri, ['read -P 0xab 0 64k'], { readOnly: true }).done;
      expect(read).toMatchObject({ code: 0 });
      expect(read.stdout).not.toContain('Pattern verification failed');
      const refused = await runTool('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 4k', review.uri]);
      expect(refused.code).not.toBe(0);
    } finally {
      await review.stop();
    }
    expect(held.settled).toBe(false);

    const enabledAt = Date.now();
    await t.customer.enableIo(volumeId);
    const done = await held.done;
    console.log(
      `[figures] qemu-io write held ${((Date.now() - heldSince) / 1000).toFixed(1)} s through the outage and review, answered ${Date.now() - enabledAt} ms after enable-io was sent`,
    );
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('wrote 4096/4096 bytes at offset 0');
    const after = await qemuIo(uri, ['read -P 0x5a 0 4k', 'read -P 0xab 4k 60k']).done;
    expect(after.code).toBe(0);
    expect(after.stdout).not.toContain('Pattern verification failed');
  });

  it('keeps a writing client going when the primary is SIGKILLed: latency, no error, every acknowledged write reads back', async () => {
    const { volumeId, uri } = await attachNew(false, 32 * MiB);
    const primary = (await copiesOf(t, volumeId)).find((c) => c.role === 'primary')!.nodeId;
    const fio = startTool('fio', [
      '--name=pattern',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--rw=write',
      '--bs=16k',
      '--size=32M',
      '--iodepth=4',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--verify_state_save=0',
      '--output-format=json',
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(fio.settled).toBe(false);
    await t.cluster.killNode(primary);

    const result = await fio.done;
    expect(result.stderr).not.toMatch(/error|verify/i);
    expect(result.code).toBe(0);
    const job = (JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as FioReport).jobs[0]!;
    expect(job.error).toBe(0);
    // the client saw the failover as latency: some write waited out the heartbeat timeout
    const maxWriteMs = job.write.clat_ns.max / 1e6;
    expect(maxWriteMs).toBeGreaterThan(1000);
    console.log(
      `[figures] fio through the primary's SIGKILL: ${job.write.total_ios} writes, 0 errors, max write latency ${maxWriteMs.toFixed(0)} ms, verified ${job.read.total_ios} reads`,
    );
    await eventually('the survivor serving as primary', async () =>
      (await copiesOf(t, volumeId)).some((c) => c.role === 'primary' && c.nodeId !== primary && c.state === 'in-service'),
    );
    await t.cluster.startNode(primary);
  });

  it('holds every attached client through a whole-DC blackout until auto-enable or the customer enables I/O', async () => {
    const volumes = [await attachNew(true), await attachNew(true), await attachNew(false)];
    for (const [i, v] of volumes.entries()) expect((await qemuIo(v.uri, [`write -P ${0x20 + i} 0 64k`]).done).code).toBe(0);

    const killed = await t.cluster.powerFail('dc', t.cluster.opts.nodes[0]!.domainPath.split('/')[0]!);
    const held = volumes.map((v, i) => qemuIo(v.uri, [`write -P ${0x40 + i} 0 4k`]));
    await new Promise((r) => setTimeout(r, 1000));
    expect(held.map((h) => h.settled)).toEqual([false, false, false]);
    await Promise.all(killed.map((n) => t.cluster.startNode(n)));

    // the volumes with a proof of no loss auto-enable and their clients' writes complete
    for (const h of held.slice(0, 2)) expect((await h.done).code).toBe(0);
    const manual = volumes[2]!;
    await eventually('the third volume awaiting a decision', async () => (await t.customer.status(manual.volumeId)).actions.length > 0);
    expect(held[2]!.settled).toBe(false);
    await t.customer.enableIo(manual.volumeId);
    expect((await held[2]!.done).code).toBe(0);

    for (const [i, v] of volumes.entries()) {
      const read = await qemuIo(v.uri, [`read -P ${0x40 + i} 0 4k`, `read -P ${0x20 + i} 4k 60k`]).done;
      expect(read.code).toBe(0);
      expect(read.stdout).not.toContain('Pattern verification failed');
    }
  });
});

interface FioReport {
  jobs: { error: number; write: { total_ios: number; clat_ns: { max: number } }; read: { total_ios: number } }[];
}
