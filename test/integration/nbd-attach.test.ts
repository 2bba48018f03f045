// Volumes are block devices: unmodified NBD clients (qemu-img, nbdinfo, nbdcopy) use a volume
// through `blackstart attach`, which connects them to the volume's primary; only the owner can,
// and only the local user who attached reaches the endpoint.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorToken, nodeToken, signGrant } from '../../common/tokens.js';
import { attachFails, attachVolume, nbdInfo, runAsNobody, runTool } from '../support/nbd.js';
import { copiesOf, nodeView, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const SIZE = 16 * 1024 * 1024;

describe('a volume attached as an NBD block device', () => {
  let t: TestCluster;
  let apiKey = '';
  let volumeId = '';
  let dir = '';

  beforeAll(async () => {
    t = await startTestCluster('nbd-attach');
    apiKey = t.customer.token;
    volumeId = (await t.customer.createVolume(SIZE)).volumeId;
    dir = await mkdtemp(join(tmpdir(), 'nbd-attach-'));
  });
  afterAll(() => t?.stop());

  it('takes a raw image with qemu-img convert and compares identical; nbdinfo shows its size and flags; nbdcopy round-trips it', async () => {
    const image = join(dir, 'random.img');
    await writeFile(image, randomBytes(SIZE));
    const attached = await attachVolume(t, volumeId, apiKey);
    try {
      expect(await runTool('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', image, attached.uri])).toMatchObject({ code: 0 });
      const compared = await runTool('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', image, attached.uri]);
      expect(compared.stdout).toContain('Images are identical');

      expect(await nbdInfo(attached.uri)).toMatchObject({
        'export-size': SIZE,
        is_read_only: false,
        can_flush: true,
        can_fua: true,
        can_trim: true,
        can_zero: true,
        can_multi_conn: true,
      });

      const copy = join(dir, 'copy.img');
      expect(await runTool('nbdcopy', [attached.uri, copy])).toMatchObject({ code: 0 });
      expect((await readFile(copy)).equals(await readFile(image))).toBe(true);
      const other = join(dir, 'other.img');
      await writeFile(other, randomBytes(SIZE));
      expect(await runTool('nbdcopy', [other, attached.uri])).toMatchObject({ code: 0 });
      expect((await runTool('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', other, attached.uri])).stdout).toContain(
        'Images are identical',
      );
    } finally {
      await attached.stop();
    }

    // the writes were mirrored: both copies hold the same bytes at the same writeSeq
    const [a, b] = await copiesOf(t, volumeId);
    const [viewA, viewB] = await Promise.all([nodeView(t, a!.nodeId, volumeId), nodeView(t, b!.nodeId, volumeId)]);
    expect(viewA).toMatchObject({ writeSeq: viewB.writeSeq, digest: viewB.digest });
    expect(viewA.writeSeq).toBeGreaterThan(0);
  });

  it('lets only the owner attach: another customer, an unknown volume and a bad key fail with a clear message', async () => {
    const before = await nodeView(t, (await copiesOf(t, volumeId))[0]!.nodeId, volumeId);
    const { apiKey: otherKey } = await t.operator.createCustomer('someone-else');

    const other = await attachFails(t, volumeId, otherKey);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/cannot attach .*not found/);
    const unknown = await attachFails(t, 'vol-does-not-exist', apiKey);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/cannot attach .*not found/);
    const badKey = await attachFails(t, volumeId, 'bsk_not-a-key');
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/cannot attach/);

    expect(await nodeView(t, (await copiesOf(t, volumeId))[0]!.nodeId, volumeId)).toEqual(before);
  });

  it("refuses a node's NBD export to a guessed name, a mirror token, and a grant for another node or of another access", async () => {
    const primary = (await copiesOf(t, volumeId)).find((c) => c.role === 'primary')!.nodeId;
    const secondary = (await copiesOf(t, volumeId)).find((c) => c.role === 'secondary')!.nodeId;
    const { rows } = await t.db.query('select nbd_address from nodes where id = $1', [primary]);
    const address = rows[0].nbd_address as string;
    const secret = t.cluster.layout.clusterSecret;
    const expiresAt = Date.now() + 60_000;
    const names = [
      volumeId,
      mirrorToken(secret, primary),
      signGrant({ volumeId, nodeId: secondary, access: 'io', expiresAt }, nodeToken(secret, primary)),
      signGrant({ volumeId, nodeId: primary, access: 'io', expiresAt }, nodeToken(secret, secondary)),
      signGrant({ volumeId, nodeId: primary, access: 'io', expiresAt: Date.now() - 1 }, nodeToken(secret, primary)),
    ];
    for (const name of names) {
      const r = await runTool('nbdinfo', ['--no-content', `nbd://${address}/${encodeURIComponent(name)}`]);
      expect(r.code, `export name ${name}`).not.toBe(0);
    }
    // the same node serves the right grant
    const good = signGrant({ volumeId, nodeId: primary, access: 'io', expiresAt }, nodeToken(secret, primary));
    expect(await runTool('nbdinfo', ['--no-content', `nbd://${address}/${good}`])).toMatchObject({ code: 0 });
  });

  it('serves only the local user who attached: another user cannot open the socket, nor guess or list the TCP export', async () => {
    const onSocket = await attachVolume(t, volumeId, apiKey);
    try {
      const socketPath = new URL(onSocket.uri).searchParams.get('socket')!;
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      await chmod(dirname(socketPath), 0o755); // only the socket's own mode stands in the way
      const denied = await runAsNobody('qemu-io', ['-f', 'raw', '-r', '-c', 'read 0 4k', onSocket.uri]);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/Permission denied/);
      expect(await runTool('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5e 0 4k', onSocket.uri])).toMatchObject({ code: 0 });
    } finally {
      await onSocket.stop();
    }

    const onPort = await attachVolume(t, volumeId, apiKey, { tcp: true });
    try {
      const { host, pathname } = new URL(onPort.uri);
      expect(pathname.length).toBeGreaterThan(30); // nbd://HOST:PORT/<secret made for this attach>
      for (const guess of ['', volumeId, 'x', pathname.slice(1, -1)]) {
        const refused = await runAsNobody('qemu-io', ['-f', 'raw', '-r', '-c', 'read 0 4k', `nbd://${host}/${guess}`]);
        expect(refused.code, `export name "${guess}"`).not.toBe(0);
      }
      const listed = await runAsNobody('nbdinfo', ['--list', '--json', `nbd://${host}`]);
      expect(JSON.parse(listed.stdout).exports).toEqual([]);
      const read = await runTool('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 0x5e 0 4k', onPort.uri]);
      expect(read).toMatchObject({ code: 0 });
      expect(read.stdout).not.toMatch(/Pattern verification failed/);
    } finally {
      await onPort.stop();
    }
  });
});
