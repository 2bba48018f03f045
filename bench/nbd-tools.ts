// The NBD benchmark's external programs: qemu-nbd (the baseline) and fio's nbd engine, each
// bounded in time, and a registry of every child started so that all of them are stopped at the
// end, on an error, or when the benchmark itself is interrupted.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnTool, stopTool, type Tool } from '../chaos/attach.js';

/** Every child the benchmark started; `killAll` is synchronous so it also runs from an exit handler. */
export class Children {
  private readonly tools = new Set<Tool>();
  private readonly onSignal = () => {
    this.killAll();
    process.exit(130);
  };

  constructor() {
    process.on('exit', this.killAllSync);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  track<T extends { tool: Tool } | Tool>(t: T): T {
    this.tools.add('tool' in t ? t.tool : t);
    return t;
  }

  killAll(): void {
    for (const t of this.tools) if (!t.settled) t.child.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.tools].map((t) => stopTool(t, 3000)));
    this.tools.clear();
    process.off('exit', this.killAllSync);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  private readonly killAllSync = () => this.killAll();
}

/** `qemu-nbd -f raw --cache=writethrough` on a unix socket, persistent, several clients allowed. */
export async function startQemuNbd(children: Children, image: string, socketPath: string): Promise<string> {
  const tool = children.track(
    spawnTool('qemu-nbd', ['-f', 'raw', '--cache=writethrough', '--persistent', '--shared=8', '--socket', socketPath, image]),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await runTool(children, 'nbdinfo', ['--size', `nbd+unix:///?socket=${socketPath}`], 5000).then((r) => r.code === 0);
    if (ok) return `nbd+unix:///?socket=${socketPath}`;
    if (tool.settled || Date.now() > deadline) throw new Error(`qemu-nbd did not start: ${tool.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runTool(
  children: Children,
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const tool = children.track(spawnTool(command, args));
  const timer = setTimeout(() => tool.child.kill('SIGKILL'), timeoutMs);
  const code = await tool.done;
  clearTimeout(timer);
  return { code, output: tool.output() };
}

export type JobName = 'seqWrite' | 'seqRead' | 'randRead' | 'randWrite';

export interface JobSpec {
  rw: string;
  bs: string;
  iodepth: number;
  /** Runs for the benchmark's seconds; otherwise over the whole target once (capped). */
  timeBased: boolean;
}

/** In this order: the sequential write fills the target before anything reads it. */
export const JOBS: Record<JobName, JobSpec> = {
  seqWrite: { rw: 'write', bs: '1M', iodepth: 8, timeBased: false },
  seqRead: { rw: 'read', bs: '1M', iodepth: 8, timeBased: true },
  randRead: { rw: 'randread', bs: '4k', iodepth: 32, timeBased: true },
  randWrite: { rw: 'randwrite', bs: '4k', iodepth: 32, timeBased: true },
};

export interface JobResult {
  MiBps: number;
  iops: number;
  p99Ms: number;
  meanMs: number;
  seconds: number;
}

/** A sequential job over the whole target stops at this many seconds whatever it reached. */
const SEQUENTIAL_CAP_SECONDS = 120;

/** A command run as another command line (e.g. inside a namespace): [command, args]. */
export type Wrap = (command: string, args: string[]) => [string, string[]];

/** One fio job on an NBD URI; its figures from `--output-format=json`. */
export async function runFio(
  children: Children,
  dir: string,
  uri: string,
  name: JobName,
  seconds: number,
  overrides: Partial<JobSpec> = {},
  wrap: Wrap = (command, args) => [command, args],
): Promise<JobResult> {
  const job = { ...JOBS[name], ...overrides };
  const output = join(dir, `fio-${name}-${Date.now()}.json`);
  const timing = job.timeBased ? ['--time_based', `--runtime=${seconds}`] : [`--runtime=${SEQUENTIAL_CAP_SECONDS}`];
  const args = [
    `--name=${name}`,
    '--ioengine=nbd',
    `--uri=${uri}`,
    `--rw=${job.rw}`,
    `--bs=${job.bs}`,
    `--iodepth=${job.iodepth}`,
    '--numjobs=1',
    '--randrepeat=0',
    ...timing,
    '--output-format=json',
    `--output=${output}`,
  ];
  const run = await runTool(children, ...wrap('fio', args), (job.timeBased ? seconds : SEQUENTIAL_CAP_SECONDS) * 1000 + 60_000);
  if (run.code !== 0) throw new Error(`fio ${name} on ${uri} failed (exit ${run.code}): ${run.output.trim()}`);
  return parseFio(await readFile(output, 'utf8'), name);
}

interface FioSide {
  bw_bytes: number;
  iops: number;
  runtime: number;
  clat_ns: { mean: number; percentile?: Record<string, number> };
}

export function parseFio(text: string, name: JobName): JobResult {
  const job = (JSON.parse(text) as { jobs: { error: number; read: FioSide; write: FioSide }[] }).jobs[0]!;
  if (job.error) throw new Error(`fio ${name} reported error ${job.error}`);
  const side = JOBS[name].rw.includes('read') ? job.read : job.write;
  const ms = (ns: number | undefined) => round((ns ?? 0) / 1e6, 3);
  return {
    MiBps: round(side.bw_bytes / 2 ** 20),
    iops: round(side.iops, 0),
    p99Ms: ms(side.clat_ns.percentile?.['99.000000']),
    meanMs: ms(side.clat_ns.mean),
    seconds: round(side.runtime / 1000),
  };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
