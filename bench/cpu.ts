// CPU seconds spent by the cluster's processes (from /proc), to show where a benchmark's time goes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { LocalCluster } from '../cluster/local-cluster.js';

const TICKS_PER_SECOND = 100;

/**
 * `postgres` is every process of the local Postgres server; `temporalPostgres` the part of it
 * serving the Temporal server's own databases (its backends connected to `temporal_*`: the server
 * on Postgres keeps a steady pool, so none is missed; 0 with the dev server and its SQLite).
 */
export type CpuSample = Record<'temporal' | 'temporalPostgres' | 'api' | 'worker' | 'storageNodes' | 'postgres', number>;

export function sampleCpu(cluster: LocalCluster): CpuSample {
  const { temporal, apis, workers, nodes } = cluster.processes();
  const sum = (processes: { pid: number | null }[]) => processes.reduce((total, p) => total + cpuOf(p.pid), 0);
  return {
    temporal: cpuOf(temporal.pid),
    temporalPostgres: temporalBackends().reduce((total, pid) => total + cpuOf(pid), 0),
    api: sum(apis),
    worker: sum(workers),
    storageNodes: sum(nodes),
    postgres: postgresCpu(),
  };
}

/** CPU seconds between two samples per process group (`cpuSeconds.<group>`), and the share of the machine they kept busy. */
export function cpuBetween(before: CpuSample, after: CpuSample, wallSeconds: number, cores: number): Record<string, number> {
  const groups = Object.keys(after) as (keyof CpuSample)[];
  const used = Object.fromEntries(groups.map((g) => [`cpuSeconds.${g}`, round(after[g] - before[g])]));
  const total = groups.filter((g) => g !== 'temporalPostgres').reduce((sum, g) => sum + after[g] - before[g], 0); // within postgres
  return { ...used, cpuSecondsTotal: round(total), machineBusyShare: round(total / (wallSeconds * cores)) };
}

/** CPU seconds so far of a Temporal server process and of the Postgres backends serving its databases. */
export function temporalServerCpu(pid: number | null): number {
  return cpuOf(pid) + temporalBackends().reduce((sum, p) => sum + cpuOf(p), 0);
}

export function cpuOf(pid: number | null): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
  } catch {
    return 0;
  }
}

/** The local Postgres server's processes (the inventory), whoever started them. */
function postgresCpu(): number {
  try {
    const out = execFileSync('ps', ['-C', 'postgres', '-o', 'pid='], { encoding: 'utf8' });
    return out
      .split('\n')
      .filter(Boolean)
      .reduce((sum, pid) => sum + cpuOf(Number(pid)), 0);
  } catch {
    return 0;
  }
}

/** The Postgres backends connected to a Temporal server's databases (temporal-postgres.ts names them temporal_…). */
function temporalBackends(): number[] {
  try {
    const sql = "select pid from pg_stat_activity where datname like 'temporal%'";
    const out = execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-Atc', sql], {
      encoding: 'utf8',
      timeout: 5000,
    });
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function round(n: number): number {
  return Math.round(n * 10) / 10;
}
