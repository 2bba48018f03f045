// The node's NBD server driven by real clients from Debian (nbdinfo, qemu-io, qemu-img), over
// a NodeService on real files: when a client does X through a grant, then the volume shows Y.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nbdInfo, qemuIo, runTool } from '../support/nbd.js';
import { TOKEN, startNbdNode, type NbdNode } from '../support/nbd-node.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the storage node NBD server with real clients', () => {
  let node: NbdNode;
  beforeAll(async () => {
    node = await startNbdNode();
    await node.create('vol-a', 8 * MiB);
    await node.create('vol-b', 4 * MiB);
    await node.create('vol-sec', 4 * MiB, 'secondary');
  });
  afterAll(() => node.stop());

  it('nbdinfo shows the size and flags; a review export is read-only', async () => {
    const io = await nbdInfo(node.uri(node.grant('vol-a', 'io')));
    expect(io).toMatchObject({
      'export-size': 8 * MiB,
      is_read_only: false,
      can_flush: true,
      can_fua: true,
      can_trim: true,
      can_zero: true,
      can_multi_conn: true,
    });
    expect(io).toMatchObject({ block_size_minimum: 1, block_size_preferred: 4096, block_size_maximum: 4 * MiB });
    const review = await nbdInfo(node.uri(node.grant('vol-a', 'review')));
    expect(review).toMatchObject({ 'export-size': 8 * MiB, is_read_only: true });
  });

  it('qemu-io writes, then reads the same bytes back, across a block boundary', async () => {
    const uri = node.uri(node.grant('vol-a', 'io'));
    const r = await qemuIo(uri, [
      'write -P 0xab 3000 10000',
      'write -z 5000 100',
      'read -P 0xab 3000 2000',
      'read -P 0 5000 100',
      'read -P 0xab 5100 7900',
      'flush',
    ]).done;
    expect(r.stdout + r.stderr).not.toMatch(/error|fail|mismatch/i);
    expect(r.code).toBe(0);
    const data = await node.data('vol-a');
    expect(data.subarray(3000, 5000).every((b) => b === 0xab)).toBe(true);
    expect(data.subarray(5000, 5100).every((b) => b === 0)).toBe(true);
  });

  it('qemu-img converts a random raw image in, and compares it back identical', async () => {
    const src = join(node.dir, 'src.raw');
    await writeFile(src, Buffer.concat([randomBytes(MiB + 123), Buffer.alloc(MiB), randomBytes(2 * MiB - 123)]));
    const uri = node.uri(node.grant('vol-b', 'io'));
    const convert = await runTool('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, uri]);
    expect(convert.stderr).toBe('');
    expect(convert.code).toBe(0);
    const compare = await runTool('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, uri]);
    expect(compare.stdout).toMatch(/identical/);
    expect(compare.code).toBe(0);
  });

  it('a review export refuses writes and leaves the bytes as they were', async () => {
    const before = await node.hash('vol-a');
    const review = node.uri(node.grant('vol-a', 'review'));
    const r = await qemuIo(review, ['write -P 0x11 0 4096']).done;
    expect(r.stdout + r.stderr).toMatch(/read-only|not permitted|denied/i);
    expect(await node.hash('vol-a')).toBe(before);
    await node.service.write('vol-a', 200_000, Buffer.alloc(4096, 0x77));
    const read = await qemuIo(review, ['read -P 0x77 200000 4096'], { readOnly: true }).done;
    expect(read.code).toBe(0);
  });

  it('a write to a paused volume is held (neither answered nor failed) until I/O is enabled, then completes', async () => {
    await node.service.setIo('vol-a', 'paused');
    const uri = node.uri(node.grant('vol-a', 'io'));
    const held = qemuIo(uri, ['write -P 0x5c 65536 4096']);
    await sleep(1500);
    expect(held.settled).toBe(false);
    expect(held.output()).toBe('');
    // a review read still works while I/O is held
    expect((await qemuIo(node.uri(node.grant('vol-a', 'review')), ['read -P 0 65536 4096'], { readOnly: true }).done).code).toBe(0);
    await node.service.setIo('vol-a', 'enabled');
    const r = await held.done;
    expect(r.stdout).toMatch(/wrote 4096\/4096 bytes at offset 65536/);
    expect((await node.data('vol-a')).subarray(65536, 65536 + 4096).every((b) => b === 0x5c)).toBe(true);
  });

  it('a forged, expired, other-node, other-volume or non-primary grant reaches nothing', async () => {
    const bad = [
      node.grant('vol-a', 'io', { token: 'another-node.token' }),
      node.grant('vol-a', 'io', { expiresAt: Date.now() - 1 }),
      node.grant('vol-a', 'io', { nodeId: 'nbd-node-2' }),
      node.grant('vol-unknown', 'io'),
      node.grant('vol-sec', 'io'),
      'vol-a',
      '',
    ];
    for (const name of bad) {
      const r = await runTool('nbdinfo', ['--no-content', node.uri(name)]);
      expect(r.code, name).not.toBe(0);
      expect(r.stderr).toMatch(/unknown|not available|export/i);
    }
  });

  it('before the node holds its token, no grant verifies', async () => {
    const good = node.grant('vol-a', 'io');
    node.token = null;
    try {
      expect((await runTool('nbdinfo', ['--no-content', node.uri(good)])).code).not.toBe(0);
    } finally {
      node.token = TOKEN;
    }
    expect((await runTool('nbdinfo', ['--no-content', node.uri(good)])).code).toBe(0);
  });
});
