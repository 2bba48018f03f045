// Where the time goes when a throughput target is missed, measured rather than guessed: the
// missed read jobs again through an attach process under `node --cpu-prof` (its top self-time
// functions), the machine's CPU by process during them (`perf record -a`, when perf runs), and
// the node's random reads at queue depth 1 against 32 (equal: the node serves one at a time);
// the missed write jobs again on the node directly under `perf record -g` (`nodeWrites`).
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScratchCluster } from '../cluster/scratch-cluster.js';
import { startAttach, spawnTool } from '../chaos/attach.js';
import { cpuSeconds, summariseProfileDir } from './nbd-profile.js';
import { round, runFio, runTool, type Children, type JobName, type JobResult } from './nbd-tools.js';

export interface DiagnoseContext {
  scratch: ScratchCluster;
  children: Children;
  dir: string;
  seconds: number;
  /** The attached volume (for a profiled attach process) and a fresh direct-node URI. */
  attachedVolume: string;
  directUri: () => Promise<string>;
}

const WRITE_JOBS: JobName[] = ['seqWrite', 'randWrite'];

/** The missed read jobs through a profiled attach process; the missed write jobs on the nodes themselves. */
export async function diagnose(ctx: DiagnoseContext, missed: JobName[]): Promise<Record<string, unknown>> {
  const reads = missed.filter((j) => !WRITE_JOBS.includes(j));
  const writes = missed.filter((j) => WRITE_JOBS.includes(j));
  return {
    ...(reads.length ? await diagnoseReads(ctx, reads) : {}),
    ...(writes.length ? { nodeWrites: await nodeWriteProfiles(ctx, writes) } : {}),
  };
}

/**
 * Each missed write job again, directly on the primary's NBD server, while `perf record -g`
 * samples both node processes (started with `--perf-basic-prof`, so their JavaScript frames have
 * names): the top symbols by self time, kernel and libuv's threads included.
 */
async function nodeWriteProfiles(ctx: DiagnoseContext, jobs: JobName[]): Promise<Record<string, unknown>[]> {
  const pids = ctx.scratch.cluster
    .processes()
    .nodes.map((n) => n.pid)
    .filter((p): p is number => !!p);
  const out: Record<string, unknown>[] = [];
  for (const job of jobs) {
    const data = join(ctx.dir, `perf-nodes-${job}.data`);
    const rec = ctx.children.track(
      spawnTool('perf', ['record', '-g', '-F', '499', '-p', pids.join(','), '-o', data, '--', 'sleep', String(ctx.seconds)]),
    );
    const figures = await runFio(ctx.children, ctx.dir, await ctx.directUri(), job, ctx.seconds);
    const code = await rec.done;
    if (code !== 0) {
      out.push({ job, figures, error: `perf record failed (exit ${code}): ${rec.output().trim().slice(-300)}` });
      continue;
    }
    const report = await runTool(ctx.children, 'perf', ['report', '-i', data, '--no-children', '--sort', 'sym', '--stdio'], 120_000);
    out.push({ job, figures, top: topSymbols(report.output, 20) });
  }
  return out;
}

/** `perf report --sort sym` lines ("  12.34%  [.] symbol"): the first `n`, with their share of the samples. */
export function topSymbols(report: string, n: number): { symbol: string; share: number }[] {
  const rows: { symbol: string; share: number }[] = [];
  for (const m of report.matchAll(/^\s+([\d.]+)%\s+\[([.k])\]\s+(.+?)\s*$/gm)) {
    rows.push({ symbol: `${m[2] === 'k' ? '[kernel] ' : ''}${m[3]}`, share: round(Number(m[1]) / 100, 4) });
    if (rows.length === n) break;
  }
  return rows;
}

async function diagnoseReads(ctx: DiagnoseContext, missed: JobName[]): Promise<Record<string, unknown>> {
  const profDir = join(ctx.dir, 'cpu-prof');
  await mkdir(profDir, { recursive: true });
  const { scratch, children } = ctx;
  const attach = children.track(
    await startAttach({
      apiUrl: scratch.cluster.apiUrl,
      apiKey: scratch.customer.token,
      volumeId: ctx.attachedVolume,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
    }),
  );
  const nodePids = scratch.cluster.processes().nodes.map((n) => n.pid);
  const cpu = async () => ({
    attach: await cpuSeconds(attach.tool.child.pid),
    nodes: (await Promise.all(nodePids.map(cpuSeconds))).reduce((a, b) => a + b, 0),
  });
  const before = await cpu();
  const started = performance.now();
  const figures: Partial<Record<JobName, JobResult>> = {};
  let machine: Record<string, number> | string = 'perf did not run';
  for (const [i, name] of missed.entries()) {
    const perf = i === 0 ? perfByProcess(children, ctx.dir, ctx.seconds) : null;
    figures[name] = await runFio(children, ctx.dir, attach.uri, name, ctx.seconds);
    if (perf)
      machine = await perf.then(
        async (shares) => labelled(shares, await rolesOf(scratch, attach.tool.child.pid)),
        (err: Error) => err.message,
      );
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const after = await cpu();
  await attach.stop(); // the profile is written as the process exits
  return {
    jobs: missed,
    figures,
    wallSeconds: round(wallSeconds),
    cpuSeconds: { attach: round(after.attach - before.attach), storageNodes: round(after.nodes - before.nodes) },
    [`machineCpuShareDuring_${missed[0]}`]: machine,
    nodeQueueDepth: await queueDepthProbe(ctx),
    attachProcess: await summariseProfileDir(profDir),
  };
}

/** The node's own random reads (direct, no attach) at iodepth 1 and 32. */
async function queueDepthProbe(ctx: DiagnoseContext): Promise<Record<string, number>> {
  const qd1 = await runFio(ctx.children, ctx.dir, await ctx.directUri(), 'randRead', ctx.seconds, { iodepth: 1 });
  const qd32 = await runFio(ctx.children, ctx.dir, await ctx.directUri(), 'randRead', ctx.seconds, { iodepth: 32 });
  return {
    randReadIopsQd1: qd1.iops,
    randReadIopsQd32: qd32.iops,
    qd32OverQd1: round(qd32.iops / Math.max(1, qd1.iops), 2),
    randReadMeanMsQd1: qd1.meanMs,
  };
}

/** `perf record -a` for `seconds`; the share of all CPU samples (both cores) per pid. */
async function perfByProcess(children: Children, dir: string, seconds: number): Promise<Map<number, { share: number; comm: string }>> {
  const data = join(dir, `perf-${Date.now()}.data`);
  const rec = children.track(spawnTool('perf', ['record', '-a', '-F', '499', '-o', data, '--', 'sleep', String(seconds)]));
  const timer = setTimeout(() => rec.child.kill('SIGKILL'), (seconds + 30) * 1000);
  const code = await rec.done;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`perf record failed (exit ${code}): ${rec.output().trim().slice(-300)}`);
  const report = await runTool(children, 'perf', ['report', '-i', data, '--sort', 'pid', '--stdio'], 60_000);
  const shares = new Map<number, { share: number; comm: string }>();
  for (const m of report.output.matchAll(/^\s*([\d.]+)%\s+(\d+):(\S.*?)\s*$/gm))
    shares.set(Number(m[2]), { share: Number(m[1]) / 100, comm: m[3]! });
  return shares;
}

/** Every thread (perf samples by thread) of this benchmark's processes, by role. */
async function rolesOf(scratch: ScratchCluster, attachPid: number | undefined): Promise<Map<number, string>> {
  const { apis, workers, temporal, nodes } = scratch.cluster.processes();
  const byPid: [number | null | undefined, string][] = [
    [attachPid, 'attach'],
    ...apis.map((a): [number | null, string] => [a.pid, 'api']),
    ...workers.map((w): [number | null, string] => [w.pid, 'worker']),
    [temporal.pid, 'temporal'],
  ];
  nodes.forEach((n, i) => byPid.push([n.pid, `storageNode${i + 1}`]));
  const roles = new Map<number, string>();
  for (const [pid, role] of byPid) {
    if (!pid) continue;
    const tids = await readdir(`/proc/${pid}/task`).catch(() => [String(pid)]);
    for (const tid of tids) roles.set(Number(tid), role);
  }
  return roles;
}

/** Shares by role: this benchmark's processes, fio, idle, and everything else on the machine. */
function labelled(shares: Map<number, { share: number; comm: string }>, roles: Map<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, { share, comm }] of shares) {
    const role = roles.get(pid) ?? (pid === 0 ? 'idle' : comm === 'fio' ? 'fio' : comm === 'perf' ? 'perf' : 'otherProcesses');
    out[role] = round((out[role] ?? 0) + share, 3);
  }
  return out;
}
