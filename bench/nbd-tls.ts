// NBD over TLS against plaintext, for `npm run bench -- nbd`: the same fio jobs on a node's NBD
// server directly and through `blackstart attach`, each in plaintext and over TLS, back to back
// job by job (the cluster's nodes run NODE_NBD_TLS=optional, so one node serves both), TLS's
// throughput as a ratio of plaintext's, and what a connection costs (nbdinfo, connect to answer).
import { existsSync } from 'node:fs';
import { mkdir, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScratchCluster } from '../cluster/scratch-cluster.js';
import { requestJson } from '../common/http.js';
import { startAttach } from '../chaos/attach.js';
import { JOBS, round, runFio, runTool, type Children, type JobName, type JobResult, type Wrap } from './nbd-tools.js';

type Figures = Record<JobName, JobResult>;
type Path = 'node' | 'attach';
type Target = `${Path}${'' | 'Tls'}`;

export interface TlsComparison {
  runs: { tls: boolean; node: Figures; attach: Figures }[];
  /** Over TLS ÷ in plaintext: MiB/s for the sequential jobs, IOPS for the random ones. */
  ratio: Record<Path, Record<JobName, number>>;
  /** nbdinfo --size on the node (process start, connect, handshake, GO), the median of CONNECTS runs, in ms. */
  connectMs: { plain: number; tls: number };
}

const CONNECTS = 15;

export async function measureTls(
  scratch: ScratchCluster,
  children: Children,
  dir: string,
  opts: { sizeMiB: number; seconds: number; progress: (msg: string) => void },
): Promise<TlsComparison> {
  const certs = scratch.cluster.nbdCerts;
  if (!certs) throw new Error('the NBD benchmark needs nodes offering TLS (nbdTls: optional)');
  const volume = async () => (await scratch.customer.createVolume(opts.sizeMiB * 1024 * 1024, false)).volumeId;
  const [plainVolume, tlsVolume] = [await volume(), await volume()];
  const attachOpts = { apiUrl: scratch.cluster.apiUrl, apiKey: scratch.customer.token };
  const attach = children.track(await startAttach({ ...attachOpts, volumeId: await volume() }));
  const attachTls = children.track(await startAttach({ ...attachOpts, volumeId: await volume(), ca: certs.ca }));
  const wrap = await trustingCa(certs, dir);
  const uris: Record<Target, () => Promise<string>> = {
    node: () => nodeUri(scratch, plainVolume),
    nodeTls: () => nodeUri(scratch, tlsVolume, true),
    attach: async () => attach.uri,
    attachTls: async () => attachTls.uri,
  };
  const f = { node: {}, nodeTls: {}, attach: {}, attachTls: {} } as Record<Target, Figures>;
  try {
    for (const name of Object.keys(JOBS) as JobName[]) {
      for (const target of Object.keys(uris) as Target[]) {
        const r = (f[target][name] = await runFio(children, dir, await uris[target](), name, opts.seconds, {}, wrap));
        opts.progress(`${target} ${name}: ${r.MiBps} MiB/s, ${r.iops} IOPS, p99 ${r.p99Ms} ms`);
      }
    }
  } finally {
    await Promise.all([attach.stop(), attachTls.stop()]);
  }
  return {
    runs: [
      { tls: false, node: f.node, attach: f.attach },
      { tls: true, node: f.nodeTls, attach: f.attachTls },
    ],
    ratio: { node: ratios(f.nodeTls, f.node), attach: ratios(f.attachTls, f.attach) },
    connectMs: {
      plain: await connectMs(children, await uris.node()),
      tls: await connectMs(children, `${await uris.nodeTls()}?tls-certificates=${certs.clientDir}`),
    },
  };
}

function ratios(tls: Figures, plain: Figures): Record<JobName, number> {
  const of = (j: JobName) => (JOBS[j].timeBased && j.startsWith('rand') ? tls[j].iops / plain[j].iops : tls[j].MiBps / plain[j].MiBps);
  return Object.fromEntries((Object.keys(JOBS) as JobName[]).map((j) => [j, round(of(j), 3)])) as Record<JobName, number>;
}

/** A fresh io grant for the volume on its primary, as an nbd:// URI, or nbds:// (TLS required). */
async function nodeUri(scratch: ScratchCluster, volumeId: string, tls = false): Promise<string> {
  const a = await requestJson<{ serving: { nbd: { host: string; port: number; exportName: string } } | null }>(
    `${scratch.cluster.apiUrl}/v1/volumes/${volumeId}/attachments`,
    { method: 'POST', token: scratch.customer.token, body: {}, timeoutMs: 10_000 },
  );
  if (!a.serving) throw new Error(`volume ${volumeId} is not served by any node`);
  const { host, port, exportName } = a.serving.nbd;
  return `${tls ? 'nbds' : 'nbd'}://${host}:${port}/${encodeURIComponent(exportName)}`;
}

/**
 * fio's nbd engine refuses tls-certificates= in a URI (libnbd allows no local file there unless
 * told), so fio runs with libnbd's default CA location holding the cluster CA: $HOME/.pki/libnbd
 * for a user; for root, whose default /etc/pki/libnbd is usually absent (then GnuTLS's system
 * bundle is used), that bundle or directory bind-mounted over in a mount namespace of fio's own.
 */
async function trustingCa(certs: { ca: string; clientDir: string }, dir: string): Promise<Wrap> {
  if (process.getuid?.() !== 0) {
    const home = join(dir, 'fio-home');
    await mkdir(join(home, '.pki', 'libnbd'), { recursive: true });
    await copyFile(certs.ca, join(home, '.pki', 'libnbd', 'ca-cert.pem'));
    return (command, args) => ['env', [`HOME=${home}`, command, ...args]];
  }
  const [source, target] = existsSync('/etc/pki/libnbd')
    ? [certs.clientDir, '/etc/pki/libnbd']
    : [certs.ca, '/etc/ssl/certs/ca-certificates.crt'];
  const script = 'mount --bind "$0" "$1" && shift && exec "$@"';
  return (command, args) => ['unshare', ['--mount', 'sh', '-c', script, source, target, command, ...args]];
}

async function connectMs(children: Children, uri: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const started = performance.now();
    const r = await runTool(children, 'nbdinfo', ['--size', uri], 10_000);
    if (r.code !== 0) throw new Error(`nbdinfo --size ${uri}: ${r.output.trim()}`);
    times.push(performance.now() - started);
  }
  return round(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!, 1);
}
