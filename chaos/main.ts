// `npm run chaos -- --scenarios N --seed S [--only K] [--compound] [--settle-ms MS] [--json FILE]
// [--keep] [--loopback] [--nbd-tls] [--apis N] [--workers N]`: random seeded fault scenarios against one real local cluster; a line per
// scenario, JSON, a one-line summary. As root the nodes sit on network hosts of their own and half
// the scenarios are network faults; --loopback (or not being root) runs node faults only, on
// 127.0.0.1. --compound draws 2–4 overlapping faults a scenario (compound-scenario.ts) and judges
// the fleet invariants too. --nbd-tls: the nodes require NBD over TLS, and every attach connection
// to a node must use it. --apis/--workers: that many API and worker processes (1–4); a process
// crash kills one of them (each in turn), and customerErrorsDuringCrash counts what the customer
// saw fail meanwhile.
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { failed, runChaos, summaryLine, type ChaosReport } from './campaign.js';
import { FLEET_COUNTERS } from './compound-run.js';
import type { ScenarioResult } from './run.js';

const USAGE =
  'usage: npm run chaos -- [--scenarios N] [--seed S] [--only K] [--compound] [--settle-ms MS] [--json FILE] [--keep] [--loopback] [--nbd-tls] [--apis N] [--workers N]';

interface Args {
  seed: number;
  indices: number[];
  json: string | undefined;
  keep: boolean;
  networkHosts: boolean;
  compound: boolean;
  settleMs: number | undefined;
  nbdTls: boolean;
  apis: number;
  workers: number;
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
      compound: { type: 'boolean', default: false },
      'settle-ms': { type: 'string' },
      'nbd-tls': { type: 'boolean', default: false },
      apis: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
    },
  });
  const scenarios = integer('--scenarios', values.scenarios, 1);
  const seed = values.seed === undefined ? randomInt(2 ** 32) : integer('--seed', values.seed, 0, 2 ** 32 - 1);
  const indices = values.only === undefined ? Array.from({ length: scenarios }, (_, i) => i) : [integer('--only', values.only, 0)];
  const networkHosts = !values.loopback && process.getuid?.() === 0;
  const settleMs = values['settle-ms'] === undefined ? undefined : integer('--settle-ms', values['settle-ms'], 1000);
  return {
    seed,
    indices,
    json: values.json,
    keep: values.keep,
    networkHosts,
    compound: values.compound,
    settleMs,
    nbdTls: values['nbd-tls'],
    apis: integer('--apis', values.apis, 1, 4),
    workers: integer('--workers', values.workers, 1, 4),
  };
}

function integer(flag: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text ?? '') || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  return n;
}

class UsageError extends Error {}

function line(args: Args, r: ScenarioResult, done: number, total: number): string {
  const fleet = r.compound ? FLEET_COUNTERS.filter((k) => r.compound![k] > 0).map((k) => `, ${r.compound![k]} ${k}`) : [];
  const processes = `${args.apis > 1 ? ` --apis ${args.apis}` : ''}${args.workers > 1 ? ` --workers ${args.workers}` : ''}`;
  const replay = `npm run chaos -- --seed ${args.seed} --only ${r.index}${args.compound ? ' --compound' : ''}${args.nbdTls ? ' --nbd-tls' : ''}${processes}`;
  const verdict = failed(r)
    ? `FAILED (${r.lostAcknowledgedWrites} lost, ${r.lastCopyDeletions} last-copy, ${r.stuckWorkflows} stuck, ${r.heldRequestsDropped} held dropped, ` +
      `${r.unreadableWrites} unreadable${r.customerErrorsDuringCrash ? `, ${r.customerErrorsDuringCrash} customer errors` : ''}${r.plaintextUnderTls ? `, ${r.plaintextUnderTls} without TLS` : ''}${fleet.join('')}${r.completed ? '' : ', not settled'}); replay: ${replay}`
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
    `chaos seed=${args.seed}: ${args.indices.length} ${args.compound ? 'compound ' : ''}scenario(s)${args.networkHosts ? ', nodes on network hosts' : ', loopback only'}${args.nbdTls ? ', NBD over TLS required' : ''}, ${args.apis} API and ${args.workers} worker process(es)`,
  );
  const report: ChaosReport = await runChaos({
    seed: args.seed,
    indices: args.indices,
    // As `npm start`: the embedded PostgreSQL, unless a Postgres is named (BLACKSTART_TEMPORAL=postgres moves Temporal only).
    adminDatabaseUrl: process.env.CHAOS_DATABASE_URL ?? process.env.DATABASE_URL,
    keepDir: args.keep,
    networkHosts: args.networkHosts,
    compound: args.compound,
    settleMs: args.settleMs,
    nbdTls: args.nbdTls,
    apis: args.apis,
    workers: args.workers,
    progress: (m) => console.error(`chaos: ${m}`),
    onScenario: (r, done, total) => {
      console.error(line(args, r, done, total));
      for (const note of r.notes) console.error(`    ${note}`);
    },
  });
  if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
  console.log(summaryLine(report));
  if (args.keep) console.log(`cluster dir (logs, data files, temporal.db): ${report.clusterDir}`);
  return report.failedScenarios.length ? 1 : 0;
}

process.exit(await main());
