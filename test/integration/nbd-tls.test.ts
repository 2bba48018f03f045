// Spec (issue 21, part 1): on a cluster whose nodes run NODE_NBD_TLS=require, a node refuses a
// plaintext nbdinfo and qemu-img, and serves nbdinfo over TLS (an nbds:// URI with
// tls-certificates=, libnbd 1.14's form of --tls=require) and qemu-img with tls-creds-x509; block
// clients reach a volume through `blackstart attach`, which speaks TLS to the nodes with the
// cluster CA (and says so without it), and keeps doing so through a failover; no node ever counts a
// session without TLS, nor a mirror or rebuild request from a peer without mutual TLS.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTopology } from '../../cluster/topology.js';
import { requestJson } from '../../common/http.js';
import { attachVolume, qemuIo, runTool, startTool, type AttachedVolume } from '../support/nbd.js';
import { copiesOf, eventually, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const SIZE = 16 * 1024 * 1024;

interface Served {
  nodeId: string;
  host: string;
  port: number;
  exportName: string;
}

describe('NBD over TLS on nodes that require it', () => {
  let t: TestCluster;
  let volumeId = '';
  let dir = '';
  const attached: AttachedVolume[] = [];

  /** Where the volume is served and a fresh io grant, as `blackstart attach` gets them. */
  const served = async (id = volumeId): Promise<Served> => {
    const a = await requestJson<{ serving: { nodeId: string; nbd: Omit<Served, 'nodeId'> } | null }>(
      `${t.cluster.apiUrl}/v1/volumes/${id}/attachments`,
      { method: 'POST', token: t.customer.token, body: {}, timeoutMs: 10_000 },
    );
    return { nodeId: a.serving!.nodeId, ...a.serving!.nbd };
  };
  const tlsObject = () => `tls-creds-x509,id=tls0,dir=${t.cluster.nbdCerts!.clientDir},endpoint=client`;
  const qemuOpts = (s: Served) =>
    `driver=nbd,server.type=inet,server.host=${s.host},server.port=${s.port},export=${s.exportName},tls-creds=tls0`;

  beforeAll(async () => {
    t = await startTestCluster('nbd-tls', { nodes: defaultTopology(4), nbdTls: 'require' });
    volumeId = (await t.customer.createVolume(SIZE)).volumeId;
    dir = await mkdtemp(join(tmpdir(), 'nbd-tls-'));
  });
  afterAll(async () => {
    await Promise.all(attached.map((a) => a.stop()));
    await t?.stop();
  });

  it('refuses a plaintext nbdinfo and qemu-img, naming TLS, and serves nbdinfo over TLS', async () => {
    const s = await served();
    const plain = await runTool('env', ['LIBNBD_DEBUG=1', 'nbdinfo', '--no-content', `nbd://${s.host}:${s.port}/${s.exportName}`]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain('server error message: TLS is required');
    const qemuPlain = await runTool('qemu-img', ['info', `nbd://${s.host}:${s.port}/${s.exportName}`]);
    expect(qemuPlain.code).not.toBe(0);
    expect(qemuPlain.stderr).toMatch(/TLS negotiation required/);

    const uri = `nbds://${s.host}:${s.port}/${s.exportName}?tls-certificates=${t.cluster.nbdCerts!.clientDir}`;
    const info = await runTool('nbdinfo', ['--json', '--no-content', uri]);
    expect(info.code, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout) as { TLS: boolean; exports: { 'export-size': number; is_read_only: boolean }[] };
    expect(parsed.TLS).toBe(true);
    expect(parsed.exports[0]).toMatchObject({ 'export-size': SIZE, is_read_only: false });
  });

  it('takes an image written by qemu-img over TLS (tls-creds-x509) and compares it identical', async () => {
    const image = join(dir, 'random.img');
    await writeFile(image, randomBytes(SIZE));
    const s = await served();
    const convert = await runTool('qemu-img', [
      'convert',
      '--object',
      tlsObject(),
      '-n',
      '-f',
      'raw',
      '--target-image-opts',
      image,
      qemuOpts(s),
    ]);
    expect(convert.code, convert.stderr).toBe(0);
    const compare = await runTool('qemu-img', [
      'compare',
      '--object',
      tlsObject(),
      '--image-opts',
      `driver=file,filename=${image}`,
      qemuOpts(s),
    ]);
    expect(compare.stdout, compare.stderr).toContain('Images are identical');
  });

  it('serves block clients through `blackstart attach`, which speaks TLS to the node; without the CA attach says the node requires TLS', async () => {
    const a = await attachVolume(t, volumeId, t.customer.token);
    attached.push(a);
    expect((await qemuIo(a.uri, ['write -P 0x3c 0 64k']).done).code).toBe(0);
    const read = await qemuIo(a.uri, ['read -P 0x3c 0 64k']).done;
    expect(read.code).toBe(0);
    expect(read.stdout).not.toContain('Pattern verification failed');
    expect(a.process.output()).toMatch(/connected to \S+ at \S+ over TLS/);

    const noCa = await attachVolume(t, volumeId, t.customer.token, { ca: '' });
    attached.push(noCa);
    await eventually('attach reporting the node requires TLS', async () => /the node requires TLS/.test(noCa.process.output()), 20_000);
    expect(noCa.process.output()).not.toMatch(/connected to/);
  });

  it("finds the local cluster's CA the way `npm start` leaves it (BLACKSTART_HOME/certs/ca.pem, nbdTls in cluster.json)", async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'certs'), { recursive: true });
    await copyFile(t.cluster.nbdCerts!.ca, join(home, 'certs', 'ca.pem'));
    await writeFile(join(home, 'cluster.json'), JSON.stringify({ apiPort: t.cluster.layout.apiPort, nbdTls: 'require' }));
    const env: NodeJS.ProcessEnv = { ...process.env, BLACKSTART_HOME: home, BLACKSTART_API_KEY: t.customer.token };
    for (const name of ['BLACKSTART_API_URL', 'BLACKSTART_CA', 'BLACKSTART_OPERATOR_TOKEN']) delete env[name];
    const socket = join(dir, 'home.sock');
    const a = startTool(process.execPath, ['dist/cli/main.js', 'attach', volumeId, '--socket', socket], env);
    try {
      await eventually('attach connected', async () => /connected to \S+ at \S+ over TLS/.test(a.output()), 20_000);
      const read = await qemuIo(`nbd+unix:///?socket=${socket}`, ['read -P 0x3c 0 64k']).done;
      expect(read.code).toBe(0);
      expect(read.stdout).not.toContain('Pattern verification failed');
    } finally {
      a.child.kill('SIGTERM');
      await a.done;
    }
  });

  it('keeps a writing client going over TLS when the primary is SIGKILLed, reconnecting to the new primary', async () => {
    const { volumeId: vol } = await t.customer.createVolume(SIZE);
    const a = await attachVolume(t, vol, t.customer.token);
    attached.push(a);
    const primary = (await copiesOf(t, vol)).find((c) => c.role === 'primary')!.nodeId;
    const fio = startTool('fio', [
      '--name=pattern',
      '--ioengine=nbd',
      `--uri=${a.uri}`,
      '--rw=write',
      '--bs=16k',
      `--size=${SIZE}`,
      '--iodepth=4',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--verify_state_save=0',
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(fio.settled).toBe(false);
    await t.cluster.killNode(primary);
    const result = await fio.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/error|verify/i);
    const survivor = await eventually('a new primary', async () =>
      (await copiesOf(t, vol)).find((c) => c.role === 'primary' && c.nodeId !== primary && c.state === 'in-service'),
    );
    expect(a.process.output()).toContain(`connected to ${survivor.nodeId} at`);
    expect(
      a.process
        .output()
        .match(/connected to .*/g)!
        .every((l) => l.endsWith('over TLS')),
    ).toBe(true);
    await t.cluster.startNode(primary);
  });

  it('counts no NBD session and no mirror or rebuild request without TLS on any node', async () => {
    const texts = await Promise.all(
      t.cluster.opts.nodes.map(async ({ nodeId }) => (await fetch(`${t.cluster.nodeUrl(nodeId)}/metrics`)).text()),
    );
    const sum = (metric: string) =>
      texts.reduce((n, text) => n + Number(new RegExp(`${metric}\\{tls="true"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0), 0);
    for (const text of texts) {
      expect(text).not.toMatch(/blackstart_node_nbd_sessions_total\{tls="false"/);
      expect(text).not.toMatch(/blackstart_node_replication_requests_total\{tls="false"/);
    }
    expect(sum('blackstart_node_nbd_sessions_total')).toBeGreaterThan(0);
    expect(sum('blackstart_node_replication_requests_total')).toBeGreaterThan(0);
  });
});
