// Where the attach path's time goes: the top self-time functions of a V8 CPU profile (`node
// --cpu-prof`), and CPU seconds of given processes from /proc.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round } from './nbd-tools.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  function: string;
  /** Script (repository-relative or node:internal) and 1-based line. */
  at: string;
  selfMs: number;
  /** Of the busy (non-idle) samples. */
  selfShare: number;
}

export interface ProfileSummary {
  profiledMs: number;
  idleShare: number;
  gcShare: number;
  top: HotFunction[];
}

/** The newest .cpuprofile in `dir`, summarised. */
export async function summariseProfileDir(dir: string, top = 15): Promise<ProfileSummary> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (!files.length) throw new Error(`no .cpuprofile written in ${dir}`);
  return summariseProfile(JSON.parse(await readFile(join(dir, files.at(-1)!), 'utf8')) as CpuProfile, top);
}

export function summariseProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; at: string; us: number }>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    totalUs += us;
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = self.get(key) ?? { fn: frame.functionName || '(anonymous)', at: location(frame), us: 0 };
    entry.us += us;
    self.set(key, entry);
  });
  const sumOf = (name: string) => [...self.values()].filter((e) => e.fn === name).reduce((n, e) => n + e.us, 0);
  const idleUs = sumOf('(idle)');
  const busyUs = Math.max(1, totalUs - idleUs);
  const hot = [...self.values()]
    .filter((e) => e.fn !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, top);
  return {
    profiledMs: round(totalUs / 1000),
    idleShare: round(idleUs / Math.max(1, totalUs), 3),
    gcShare: round(sumOf('(garbage collector)') / busyUs, 3),
    top: hot.map((e) => ({ function: e.fn, at: e.at, selfMs: round(e.us / 1000), selfShare: round(e.us / busyUs, 3) })),
  };
}

function location(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return '';
  const url = frame.url.replace(/^file:\/\//, '');
  const inRepo = url.indexOf('/dist/');
  return `${inRepo >= 0 ? url.slice(inRepo + 1) : url}:${frame.lineNumber + 1}`;
}

/** utime + stime of a live process, in seconds (0 when it is gone). */
export async function cpuSeconds(pid: number | null | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
