// `npm run bench -- <fleet|partition|placement|temporal-ceiling|datapath|nbd|dense> [options] [--json FILE]`; with no
// benchmark named, a small default of each. Results: bench/results/<kind>.json and README.md.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { datapathBench } from './datapath.js';
import { denseBench } from './dense.js';
import { fleetBench } from './fleet.js';
import { fleetScalingBench } from './fleet-scaling.js';
import { nbdBench } from './nbd.js';
import { partitionBench } from './partition.js';
import { placementBench } from './placement.js';
import { temporalKind } from '../cluster/temporal-postgres.js';
import { RESULTS_DIR, latestKey, saveResult } from './results.js';
import { temporalCeilingBench } from './temporal-ceiling.js';
import { peerTlsBench } from './peer-tls.js';
import { PEER_TLS_MODES, type PeerTlsMode } from '../storage-node/transport/peer-tls.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: 'string' },
    'volumes-per-node': { type: 'string', default: '10' },
    'restore-concurrency': { type: 'string', default: '4' },
    'size-mib': { type: 'string' },
    seconds: { type: 'string', default: '10' },
    workflows: { type: 'string', default: '500' },
    concurrency: { type: 'string' },
    volumes: { type: 'string' },
    'cut-seconds': { type: 'string', default: '30' },
    'mass-outage-share': { type: 'string' },
    'copies-per-node': { type: 'string', default: '5000' },
    'dense-nodes': { type: 'string', default: '2' },
    sizes: { type: 'string', default: '50,100,200' },
    'peer-tls': { type: 'string', default: 'require' },
    'writes-per-batch': { type: 'string', default: '16' },
    apis: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});

function peerTlsMode(): PeerTlsMode {
  const mode = values['peer-tls'] as PeerTlsMode;
  if (!PEER_TLS_MODES.includes(mode)) throw new Error(`--peer-tls must be one of ${PEER_TLS_MODES.join(', ')}`);
  return mode;
}

function int(name: keyof typeof values, fallback?: number): number {
  const v = values[name] === undefined && fallback !== undefined ? fallback : Number(values[name]);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

async function run(kind: string, fn: () => Promise<Record<string, unknown>>, json = values.json): Promise<void> {
  const result = await fn();
  if (kind === 'fleet') result.ceilingRatioToLatestCeiling = ceilingRatio(result.recoveryWorkflowsPerSecond);
  const path = await saveResult(kind, result, json);
  console.log(`${kind}: ${JSON.stringify(result)}\n  -> ${path}`);
}

/** Recovery workflows per second against the latest no-op ceiling measured on this machine and the same Temporal server. */
function ceilingRatio(recoveryRate: unknown): number | null {
  try {
    const latest = JSON.parse(readFileSync(join(RESULTS_DIR, 'latest.json'), 'utf8')) as Record<
      string,
      { noopWorkflowsPerSecond?: number }
    >;
    const noop = latest[latestKey('temporal-ceiling', temporalKind())]?.noopWorkflowsPerSecond;
    return noop && typeof recoveryRate === 'number' ? recoveryRate / noop : null;
  } catch {
    return null;
  }
}

// A Postgres of your own (BENCH_DATABASE_URL or DATABASE_URL); without one, an embedded PostgreSQL started for the run.
const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  fleet: () =>
    fleetBench({
      nodes: int('nodes', 50),
      volumesPerNode: int('volumes-per-node'),
      restoreConcurrency: int('restore-concurrency'),
      databaseUrl,
      apis: int('apis'),
      workers: int('workers'),
      plotPath: join(RESULTS_DIR, `fleet-${int('nodes', 50)}${processesSuffix()}.svg`),
    }),
  partition: () =>
    partitionBench({
      nodes: int('nodes', 30),
      volumes: int('volumes', 60),
      cutSeconds: int('cut-seconds'),
      databaseUrl,
      massOutageShare: share(),
    }),
  'fleet-scaling': () =>
    fleetScalingBench(sizes(), { volumesPerNode: int('volumes-per-node'), restoreConcurrency: int('restore-concurrency'), databaseUrl }),
  placement: () =>
    placementBench({ nodes: int('nodes', 30), volumes: int('volumes', 300), concurrency: int('concurrency', 32), databaseUrl }),
  'temporal-ceiling': () => temporalCeilingBench(int('workflows'), int('concurrency', 50)),
  datapath: () => datapathBench(int('size-mib', 1024)),
  'peer-tls': () => peerTlsBench({ seconds: int('seconds'), writesPerBatch: int('writes-per-batch') }),
  nbd: () => nbdBench({ sizeMiB: int('size-mib', 256), seconds: int('seconds'), databaseUrl, peerTls: peerTlsMode() }),
  dense: () =>
    denseBench({
      nodes: int('dense-nodes'),
      copiesPerNode: int('copies-per-node'),
      restoreConcurrency: int('restore-concurrency'),
      databaseUrl,
    }),
};

/** A run with several API or worker processes keeps its plot beside the single-process one's. */
function processesSuffix(): string {
  return int('apis') === 1 && int('workers') === 1 ? '' : `-apis${int('apis')}-workers${int('workers')}`;
}

/** `--sizes 50,100,200`: the fleet sizes of a scaling run, smallest first. */
function sizes(): number[] {
  const list = values.sizes.split(',').map(Number);
  if (list.length < 2 || list.some((n) => !Number.isSafeInteger(n) || n < 20) || list.some((n, i) => i > 0 && n <= list[i - 1]!)) {
    throw new Error('--sizes must be two or more increasing node counts of at least 20, e.g. 50,100,200');
  }
  return list;
}

/** `--mass-outage-share`: the API's MASS_OUTAGE_SHARE for the partition benchmark (its default, 1/3, when absent). */
function share(): number | undefined {
  const raw = values['mass-outage-share'];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!(v >= 0 && v <= 1)) throw new Error('--mass-outage-share must be between 0 and 1');
  return v;
}

const [kind] = positionals;
if (kind && !benches[kind]) {
  console.error(`unknown benchmark "${kind}"; one of ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
// A partition run with another breaker share is kept apart from the default's (partition-share<x>.json).
if (kind === 'partition' && share() !== undefined) await run(`partition-share${share()}`, benches[kind]!);
else if (kind) await run(kind, benches[kind]!);
else {
  await run('datapath', () => datapathBench(128), undefined);
  await run('temporal-ceiling', () => temporalCeilingBench(200, 20), undefined);
  await run(
    'fleet',
    () => fleetBench({ nodes: 12, volumesPerNode: 4, restoreConcurrency: 4, databaseUrl, plotPath: join(RESULTS_DIR, 'fleet-12.svg') }),
    undefined,
  );
}
process.exit(0);
