// The NBD data path against a local baseline, in one run: the same fio jobs on (a) qemu-nbd
// serving a raw file on the same disk (--cache=writethrough), (b) a Blackstart volume through its
// primary node's NBD server directly, (c) a volume through `blackstart attach`; the attach path's
// ratios to qemu-nbd; then held I/O released after enable-io (nbd-held.ts). When a target is
// missed, the attach process is profiled on the job that missed it (nbd-profile.ts).
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHORT_TIMINGS, startScratchCluster, type ScratchCluster } from '../cluster/scratch-cluster.js';
import { defaultTopology } from '../cluster/topology.js';
import { requestJson } from '../common/http.js';
import { startAttach, type AttachProcess } from '../chaos/attach.js';
import { measureHeldRelease, type HeldRelease } from './nbd-held.js';
import { measureTls } from './nbd-tls.js';
import { costBetween, sampleNodes, type NodeCost } from './nbd-costs.js';
import { diagnose } from './nbd-diagnose.js';
import { Children, JOBS, round, runFio, startQemuNbd, type JobName, type JobResult } from './nbd-tools.js';
import type { PeerTlsMode } from '../storage-node/transport/peer-tls.js';

export interface NbdBenchOptions {
  sizeMiB: number;
  /** Seconds of each random (time-based) job. */
  seconds: number;
  /** The Postgres the cluster's database is created on; default: an embedded one for the run. */
  databaseUrl?: string;
  /** How the primary mirrors to its secondary (NODE_PEER_TLS): over mutual TLS as `npm start` runs, or plain HTTP. */
  peerTls: PeerTlsMode;
}

type Figures = Record<JobName, JobResult>;
type UriSource = () => Promise<string>;

const TARGETS = { seqReadRatio: 0.8, randReadRatio: 0.5, seqWriteRatio: 0.5, randWriteRatio: 1.0, heldReleaseMs: 100 };
/** Heartbeats as SHORT_TIMINGS, but a node busy serving fio on 2 cores is not declared down mid-job. */
const ENV = { ...SHORT_TIMINGS, HEARTBEAT_TIMEOUT_MS: '5000' };

export async function nbdBench(opts: NbdBenchOptions): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'blackstart-nbd-bench-'));
  const children = new Children();
  let scratch: ScratchCluster | null = null;
  try {
    const qemu = await baseline(children, dir, opts.sizeMiB);
    scratch = await startScratchCluster({
      name: 'nbd',
      adminDatabaseUrl: opts.databaseUrl,
      nodes: defaultTopology(2),
      env: { ...ENV, NODE_PEER_TLS: opts.peerTls },
      nbdTls: 'optional', // plaintext as before, and TLS for measureTls
      nodeFlags: ['--perf-basic-prof'], // perf names the nodes' JavaScript frames (nbd-diagnose's write profile)
      progress,
    });
    const size = opts.sizeMiB * 1024 * 1024;
    const direct = directUri(scratch, (await scratch.customer.createVolume(size, false)).volumeId);
    const attachedVolume = (await scratch.customer.createVolume(size, false)).volumeId;
    const attach = children.track(await attachTo(scratch, attachedVolume));
    const loadBefore = loadavg()[0]!;
    const f = await measure({ qemu, direct, attached: async () => attach.uri }, children, dir, opts, scratch);
    const loadAfter = loadavg()[0]!;
    await attach.stop();
    const tls = await measureTls(scratch, children, dir, { ...opts, progress });
    const ratios = ratiosOf(f.qemu, f.direct, f.attached);
    const missed = missedJobs(ratios);
    const profile = missed.length
      ? await diagnose({ scratch, children, dir, seconds: opts.seconds, attachedVolume, directUri: direct }, missed)
      : null;
    const held = await measureHeldRelease(scratch, children, { connections: 4, requestsPerConnection: 250, mix: 'mixed', progress });
    const reads = await measureHeldRelease(scratch, children, { connections: 4, requestsPerConnection: 250, mix: 'reads', progress });
    return report(opts, f, ratios, held, reads, {
      ...costsOf(f),
      tls,
      profile,
      loadAverage1m: { before: round(loadBefore), after: round(loadAfter) },
    });
  } finally {
    await children.stopAll();
    await scratch?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function progress(msg: string): void {
  process.stderr.write(`nbd: ${msg}\n`);
}

async function baseline(children: Children, dir: string, sizeMiB: number): Promise<UriSource> {
  const image = join(dir, 'baseline.raw');
  await writeFile(image, '');
  await truncate(image, sizeMiB * 1024 * 1024);
  const uri = await startQemuNbd(children, image, join(dir, 'qemu-nbd.sock'));
  return async () => uri;
}

/** The node's own NBD server, with a fresh grant from the attachments endpoint for each job. */
function directUri(scratch: ScratchCluster, volumeId: string): UriSource {
  return async () => {
    const a = await requestJson<{ serving: { nbd: { host: string; port: number; exportName: string } } | null }>(
      `${scratch.cluster.apiUrl}/v1/volumes/${volumeId}/attachments`,
      { method: 'POST', token: scratch.customer.token, body: {}, timeoutMs: 10_000 },
    );
    if (!a.serving) throw new Error(`volume ${volumeId} is not served by any node`);
    const { host, port, exportName } = a.serving.nbd;
    return `nbd://${host}:${port}/${encodeURIComponent(exportName)}`;
  };
}

function attachTo(scratch: ScratchCluster, volumeId: string, nodeArgs: string[] = []): Promise<AttachProcess> {
  return startAttach({ apiUrl: scratch.cluster.apiUrl, apiKey: scratch.customer.token, volumeId, nodeArgs });
}

type Target = 'qemu' | 'direct' | 'attached';
type AllFigures = Record<Target, Figures> & { costs: Record<'direct' | 'attached', Partial<Record<JobName, NodeCost>>> };

/**
 * Each job on the three targets back to back, jobs in order (the sequential write fills each
 * target before anything reads it): a machine shared with other work loads all three alike.
 */
async function measure(
  uris: Record<Target, UriSource>,
  children: Children,
  dir: string,
  opts: NbdBenchOptions,
  scratch: ScratchCluster,
): Promise<AllFigures> {
  const out = { qemu: {}, direct: {}, attached: {}, costs: { direct: {}, attached: {} } } as AllFigures;
  for (const name of Object.keys(JOBS) as JobName[]) {
    for (const target of Object.keys(uris) as Target[]) {
      const before = target === 'qemu' ? null : await sampleNodes(scratch.cluster);
      const r = (out[target][name] = await runFio(children, dir, await uris[target](), name, opts.seconds));
      if (before && target !== 'qemu')
        out.costs[target][name] = costBetween(before, await sampleNodes(scratch.cluster), r.iops * r.seconds);
      progress(`${target} ${name}: ${r.MiBps} MiB/s, ${r.iops} IOPS, p99 ${r.p99Ms} ms`);
    }
  }
  return out;
}

/** Through attach ÷ node direct per job; the nodes' CPU per request and writes per sync, node direct. */
function costsOf(f: AllFigures): Record<string, unknown> {
  const jobs = Object.keys(JOBS) as JobName[];
  const rate = (r: JobResult, job: JobName) => (JOBS[job].bs === '1M' ? r.MiBps : r.iops);
  return {
    attachOverhead: Object.fromEntries(jobs.map((j) => [j, round(rate(f.attached[j], j) / rate(f.direct[j], j), 3)])),
    nodeCpuUsPerWrite: f.costs.direct.randWrite?.cpuUsPerRequest ?? null,
    nodeCpuUsPerRead: f.costs.direct.randRead?.cpuUsPerRequest ?? null,
    writeBatchMean: f.costs.direct.randWrite?.writeBatchMean ?? null,
    attachWriteBatchMean: f.costs.attached.randWrite?.writeBatchMean ?? null,
    nodeCosts: f.costs,
  };
}

type Ratios = Record<'seqReadRatio' | 'randReadRatio' | 'seqWriteRatio' | 'randWriteRatio', number>;

function ratiosOf(qemu: Figures, direct: Figures, attached: Figures): { attach: Ratios; direct: Ratios } {
  const of = (f: Figures): Ratios => ({
    seqReadRatio: round(f.seqRead.MiBps / qemu.seqRead.MiBps, 3),
    randReadRatio: round(f.randRead.iops / qemu.randRead.iops, 3),
    seqWriteRatio: round(f.seqWrite.MiBps / qemu.seqWrite.MiBps, 3),
    randWriteRatio: round(f.randWrite.iops / qemu.randWrite.iops, 3),
  });
  return { attach: of(attached), direct: of(direct) };
}

function missedJobs(ratios: { attach: Ratios }): JobName[] {
  const missed: JobName[] = [];
  if (ratios.attach.seqReadRatio < TARGETS.seqReadRatio) missed.push('seqRead');
  if (ratios.attach.randReadRatio < TARGETS.randReadRatio) missed.push('randRead');
  if (ratios.attach.seqWriteRatio < TARGETS.seqWriteRatio) missed.push('seqWrite');
  if (ratios.attach.randWriteRatio < TARGETS.randWriteRatio) missed.push('randWrite');
  return missed;
}

function report(
  opts: NbdBenchOptions,
  f: AllFigures,
  ratios: { attach: Ratios; direct: Ratios },
  held: HeldRelease,
  reads: HeldRelease,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const atLeast = (key: keyof Ratios) => ({
    target: `>= ${TARGETS[key]}x qemu-nbd`,
    value: ratios.attach[key],
    pass: ratios.attach[key] >= TARGETS[key],
  });
  const targets = {
    seqRead: atLeast('seqReadRatio'),
    randRead: atLeast('randReadRatio'),
    seqWrite: atLeast('seqWriteRatio'),
    randWrite: atLeast('randWriteRatio'),
    randWriteP99: {
      target: `<= qemu-nbd's ${f.qemu.randWrite.p99Ms} ms`,
      value: f.attached.randWrite.p99Ms,
      pass: f.attached.randWrite.p99Ms <= f.qemu.randWrite.p99Ms,
    },
    heldRelease: {
      target: `<= ${TARGETS.heldReleaseMs} ms`,
      value: held.heldReleaseMs,
      pass: held.heldReleaseMs <= TARGETS.heldReleaseMs && held.heldErrors === 0 && held.answeredWhileHeld === 0,
    },
  };
  const flat = (prefix: string, fig: Figures) => ({
    [`${prefix}SeqReadMiBps`]: fig.seqRead.MiBps,
    [`${prefix}SeqWriteMiBps`]: fig.seqWrite.MiBps,
    [`${prefix}RandReadIops`]: fig.randRead.iops,
    [`${prefix}RandReadP99Ms`]: fig.randRead.p99Ms,
    [`${prefix}RandWriteIops`]: fig.randWrite.iops,
    [`${prefix}RandWriteP99Ms`]: fig.randWrite.p99Ms,
  });
  return {
    sizeMiB: opts.sizeMiB,
    randomJobSeconds: opts.seconds,
    peerTls: opts.peerTls,
    ...ratios.attach,
    directSeqReadRatio: ratios.direct.seqReadRatio,
    directRandReadRatio: ratios.direct.randReadRatio,
    directSeqWriteRatio: ratios.direct.seqWriteRatio,
    directRandWriteRatio: ratios.direct.randWriteRatio,
    ...flat('qemuNbd', f.qemu),
    ...flat('node', f.direct),
    ...flat('attach', f.attached),
    ...held,
    heldReleaseReadsOnlyMs: reads.heldReleaseMs,
    heldReadsOnly: reads,
    targetsPassed: Object.values(targets).every((t) => t.pass)
      ? 'all'
      : Object.entries(targets)
          .filter(([, t]) => !t.pass)
          .map(([k]) => `missed ${k}`)
          .join(', '),
    targets,
    fio: { qemuNbd: f.qemu, node: f.direct, attach: f.attached },
    ...extra,
    note:
      'fio 3.33 nbd engine, one job at a time, each job on the three targets back to back: seqWrite (1 MiB, iodepth 8, the whole target once: fills it) → seqRead (1 MiB, iodepth 8) → randRead → randWrite (4 KiB, iodepth 32); ' +
      "all but seqWrite time-based. qemu-nbd: raw file in the same tmp dir, --cache=writethrough, unix socket. node: nbd://127.0.0.1:PORT/<grant from POST /attachments>, writes mirrored to the second node and fdatasync'd on both. " +
      'attach: `blackstart attach --socket`, forwarding to the primary. held: both copies SIGKILLed and restarted; 1,000 4 KiB requests on 4 connections to the attach endpoint while I/O is held for review, released by enable-io; ' +
      'heldRelease* for reads and writes alternating, heldReadsOnly for 1,000 reads (a second outage). The machine is shared: loadAverage1m says how busy it was.',
  };
}
