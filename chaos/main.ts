// `npm run chaos -- --scenarios N --seed S [--only K] [--json FILE] [--keep] [--loopback]`: random
// seeded fault scenarios against one real local cluster; a line per scenario, JSON, a one-line
// summary. As root the nodes sit on network hosts of their own and half the scenarios are
// network faults; --loopback (or not being root) runs node faults only, on 127.0.0.1.
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { failed, runChaos, summaryLine, type ChaosReport } from './campaign.js';
import type { ScenarioResult } from './run.js';

const USAGE = 'usage: npm run chaos -- [--scenarios N] [--seed S] [--only K] [--json FILE] [--keep] [--loopback]';

interface Args {
  seed: number;
  indices: number[];
  json: string | undefined;
  keep: boolean;
  networkHosts: boolean;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string', default: '10' },
      seed: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      loopback: { type: 'boolean', default: false },
    },
  });
  const scenarios = integer('--scenarios', values.scenarios, 1);
  const seed = values.seed === undefined ? randomInt(2 ** 32) : integer('--seed', values.seed, 0, 2 ** 32 - 1);
  const indices = values.only === undefined ? Array.from({ length: scenarios }, (_, i) => i) : [integer('--only', values.only, 0)];
  const networkHosts = !values.loopback && process.getuid?.() === 0;
  return { seed, indices, json: values.json, keep: values.keep, networkHosts };
}

function integer(flag: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text ?? '') || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  return n;
}

class UsageError extends Error {}

function line(seed: number, r: ScenarioResult, done: number, total: number): string {
  const verdict = failed(r)
    ? `FAILED (${r.lostAcknowledgedWrites} lost, ${r.lastCopyDeletions} last-copy, ${r.stuckWorkflows} stuck, ${r.heldRequestsDropped} held dropped, ` +
      `${r.unreadableWrites} unreadable${r.completed ? '' : ', not settled'}); replay: npm run chaos -- --seed ${seed} --only ${r.index}`
    : 'ok';
  return `chaos [${done}/${total}] scenario ${r.index}: ${r.scenario} nodes=${r.failedNodes.join(',')} -> ${verdict} (${r.seconds.toFixed(1)} s)`;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  console.error(
    `chaos seed=${args.seed}: ${args.indices.length} scenario(s)${args.networkHosts ? ', nodes on network hosts' : ', loopback only'}`,
  );
  const report: ChaosReport = await runChaos({
    seed: args.seed,
    indices: args.indices,
    adminDatabaseUrl: process.env.CHAOS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    keepDir: args.keep,
    networkHosts: args.networkHosts,
    progress: (m) => console.error(`chaos: ${m}`),
    onScenario: (r, done, total) => {
      console.error(line(args.seed, r, done, total));
      for (const note of r.notes) console.error(`    ${note}`);
    },
  });
  if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
  console.log(summaryLine(report));
  if (args.keep) console.log(`cluster dir (logs, data files, temporal.db): ${report.clusterDir}`);
  return report.failedScenarios.length ? 1 : 0;
}

process.exit(await main());
