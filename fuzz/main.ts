// `npm run fuzz -- --requests N --seed S [--only K] [--json FILE] [--keep] [--verbose]`: a
// property-based fuzz of every interface of one real local cluster; progress and failures on
// stderr, a one-line summary on stdout, JSON to FILE; exit 1 when any oracle failed.
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { failedCount, summaryLine } from './report.js';
import { runFuzz } from './runner.js';
import { startWorld, stopWorld } from './world.js';

const USAGE = 'usage: npm run fuzz -- [--requests N] [--seed S] [--only K[,K...]] [--timeout-ms MS] [--json FILE] [--keep] [--verbose]';

interface Args {
  seed: number;
  indices: number[];
  timeoutMs: number;
  json: string | undefined;
  keep: boolean;
  verbose: boolean;
}

class UsageError extends Error {}

function integer(flag: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text ?? '') || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  return n;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '1000' },
      seed: { type: 'string' },
      only: { type: 'string' },
      'timeout-ms': { type: 'string', default: '10000' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const requests = integer('--requests', values.requests, 1);
  const seed = values.seed === undefined ? randomInt(2 ** 31) : integer('--seed', values.seed, 0, 2 ** 32 - 1);
  const indices =
    values.only === undefined ? Array.from({ length: requests }, (_, i) => i) : values.only.split(',').map((k) => integer('--only', k, 0));
  return {
    seed,
    indices,
    timeoutMs: integer('--timeout-ms', values['timeout-ms'], 100),
    json: values.json,
    keep: values.keep,
    verbose: values.verbose || values.only !== undefined,
  };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  console.error(`fuzz seed=${args.seed}: ${args.indices.length} request(s)`);
  const world = await startWorld({
    adminDatabaseUrl: process.env.FUZZ_DATABASE_URL ?? process.env.DATABASE_URL,
    keepDir: args.keep,
    progress: (m) => console.error(`fuzz: ${m}`),
  });
  try {
    const report = await runFuzz(world, {
      seed: args.seed,
      indices: args.indices,
      timeoutMs: args.timeoutMs,
      verbose: args.verbose,
      progress: (l) => console.error(l),
    });
    if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
    console.log(summaryLine(report));
    if (args.keep) console.log(`cluster dir (logs, data files, temporal.db): ${report.clusterDir}`);
    return failedCount(report) ? 1 : 0;
  } finally {
    await stopWorld(world);
  }
}

process.exit(await main());
