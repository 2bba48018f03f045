// Benchmark results: one JSON file per run, and a markdown table of the latest of each kind.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporalKind, type TemporalKind } from '../cluster/temporal-postgres.js';

export const RESULTS_DIR = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../bench/results/' : './results/', import.meta.url),
);

/** The key of a kind's latest run in latest.json: `fleet` on the dev server, `fleet (postgres)` on the server on Postgres. */
export function latestKey(kind: string, temporal: TemporalKind): string {
  return temporal === 'dev' ? kind : `${kind} (${temporal})`;
}

/** Every record names the Temporal server it ran on (`temporal`: dev or postgres, BLACKSTART_TEMPORAL). */
export async function saveResult(kind: string, result: Record<string, unknown>, jsonPath?: string): Promise<string> {
  const temporal = temporalKind();
  const path = jsonPath ?? join(RESULTS_DIR, `${temporal === 'dev' ? kind : `${kind}-${temporal}`}.json`);
  await mkdir(dirname(path), { recursive: true });
  const record = { kind, temporal, at: new Date().toISOString(), machine: `${(await import('node:os')).cpus().length} cores`, ...result };
  await writeFile(path, JSON.stringify(record, null, 2) + '\n');
  await updateTable(latestKey(kind, temporal), record);
  return path;
}

async function updateTable(key: string, record: Record<string, unknown>): Promise<void> {
  const indexPath = join(RESULTS_DIR, 'latest.json');
  const latest = JSON.parse(await readFile(indexPath, 'utf8').catch(() => '{}')) as Record<string, Record<string, unknown>>;
  latest[key] = record;
  await writeFile(indexPath, JSON.stringify(latest, null, 2) + '\n');
  const lines = ['# Benchmark results (latest run of each)', '', '| benchmark | figure | value |', '|---|---|---|'];
  for (const [name, r] of Object.entries(latest)) {
    for (const [key, value] of Object.entries(r)) {
      if (typeof value === 'number' || typeof value === 'string')
        lines.push(`| ${name} | ${key} | ${typeof value === 'number' ? round(value) : value} |`);
    }
  }
  await writeFile(join(RESULTS_DIR, 'README.md'), lines.join('\n') + '\n');
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
