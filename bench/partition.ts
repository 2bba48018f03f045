// Issue 12's router-wide partition: a 30-node fleet on network hosts (three routers of ten
// nodes), one router's uplink cut for a fixed time while a customer keeps writing to the
// volumes whose primaries are outside it, then the network returns. The questions: does the
// mass-outage breaker hold (no failover, no peer drop, no re-mirroring storm), how long do the
// writes whose secondary is behind the cut router wait, does every node serve again, and does
// every acknowledged write read back.
import { cpus } from 'node:os';
import { openWorkflows } from '../chaos/invariants.js';
import type { BlackstartClient } from '../cli/client.js';
import type { NodeSpec } from '../cluster/local-cluster.js';
import { startScratchCluster } from '../cluster/scratch-cluster.js';
import { cpuBetween, sampleCpu } from './cpu.js';
import {
  breakerView,
  byNodeNumber,
  eventsSince,
  logEvidence,
  peerDropRows,
  splitBrainCount,
  workflowsSince,
} from './partition-evidence.js';
import { BLOCK, lostWrites, pattern, PartitionWriter, sleep, type AckedWrite, type WriterVolume } from './partition-writer.js';
import { percentile, Progress } from './progress.js';

export interface PartitionOptions {
  nodes: number;
  volumes: number;
  cutSeconds: number;
  /** The Postgres the cluster's database is created on; default: an embedded one for the run. */
  databaseUrl?: string;
  /** MASS_OUTAGE_SHARE for the API; the API's default (1/3) when absent. */
  massOutageShare?: number;
}

const VOLUME_BYTES = 1024 * 1024;
const INITIAL_BYTES = 16 * 1024;
const ROUTER = 'r1';
const NODES_PER_ROUTER = 10;
const HEARTBEAT_TIMEOUT_MS = 5000;
const WARMUP_MS = 5000;
const RETURN_TIMEOUT_MS = 300_000;

/** Routers of ten nodes, each router its own zone with two power domains of five: placement puts a volume's copies behind two routers. */
export function partitionTopology(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const router = Math.floor(i / NODES_PER_ROUTER) + 1;
    return { nodeId: `n${i + 1}`, domainPath: `dc1/z${router}/r${router}/p${Math.floor(i / 5) + 1}/h${i + 1}` };
  });
}

export async function partitionBench(opts: PartitionOptions): Promise<Record<string, unknown>> {
  const say = (m: string) => process.stderr.write(`partition: ${m}\n`);
  const scratch = await startScratchCluster({
    name: 'partition',
    adminDatabaseUrl: opts.databaseUrl,
    nodes: partitionTopology(opts.nodes),
    nodesPerProcess: 1,
    networkHosts: true,
    env: {
      HEARTBEAT_MS: '1000',
      HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
      MONITOR_INTERVAL_MS: '500',
      REPORT_RETRY_MS: '500',
      PEER_WAIT_MS: '10000',
      NODE_FSYNC: 'false',
      ...(opts.massOutageShare === undefined ? {} : { MASS_OUTAGE_SHARE: String(opts.massOutageShare) }),
    },
    // BENCH_KEEP_DIR=1 keeps the cluster's directory (every process's log, the nodes' operation logs).
    keepDir: process.env.BENCH_KEEP_DIR === '1',
    progress: say,
  });
  const { cluster, operator, customer, db } = scratch;
  try {
    const network = cluster.network;
    if (!network) throw new Error('the cluster has no network hosts');
    const volumes = await placeVolumes(customer, opts.volumes);
    const cutNodes = cluster.nodesIn('router', ROUTER);
    const copies = await copiesOf(db, volumes);
    const inside = (n: string | undefined) => n !== undefined && cutNodes.includes(n);
    const writerVolumes: WriterVolume[] = [];
    let primaryInside = 0;
    for (const v of volumes) {
      const { primary, secondary } = copies.get(v) ?? {};
      if (inside(primary)) primaryInside++;
      else writerVolumes.push({ volumeId: v, group: inside(secondary) ? 'secondary-cut' : 'outside' });
    }
    const secondaryCut = writerVolumes.filter((w) => w.group === 'secondary-cut').length;
    say(
      `${volumes.length} volumes: ${primaryInside} with the primary behind ${ROUTER} (not written during the cut), ` +
        `${secondaryCut} with the secondary behind it, ${writerVolumes.length - secondaryCut} with both copies elsewhere`,
    );

    const writer = new PartitionWriter(customer, VOLUME_BYTES, INITIAL_BYTES / BLOCK, 1000);
    writer.start(writerVolumes);
    await sleep(WARMUP_MS);

    const cpuBefore = sampleCpu(cluster);
    const cutAt = Date.now();
    say(
      `cutting ${ROUTER}'s uplink: ${cutNodes.length} of ${opts.nodes} nodes (${cutNodes.join(' ')}) lose the network for ${opts.cutSeconds} s`,
    );
    const heal = await network.faults.cutRouter(ROUTER);
    const during = await watchCut(cluster, operator, writer, cutNodes, cutAt, opts.cutSeconds);
    const isolatedAtHeal = (await logEvidence(cluster, cutAt)).isolated;
    const healAt = Date.now();
    await heal();
    say(`network back after ${((healAt - cutAt) / 1000).toFixed(1)} s; ${isolatedAtHeal.length} nodes had held their I/O (network lost)`);

    const mustReport = [...new Set([...isolatedAtHeal, ...during.declaredDown])].sort(byNodeNumber);
    const back = await watchReturn(operator, opts.nodes, mustReport, cutAt, healAt);
    const serving = await waitServing(customer, db, volumes, healAt);
    const stalledAtHeal = writer.longestStall(healAt);
    const unanswered = await writer.stop(60_000);
    say(`writer stopped: ${writer.acked.length} writes acknowledged, ${unanswered} unanswered`);
    const open = await waitNoOpenWorkflows(cluster);
    const cpu = cpuBetween(cpuBefore, sampleCpu(cluster), (Date.now() - cutAt) / 1000, cpus().length);

    let visibilityError: string | null = null;
    const started = await workflowsSince(cluster, cutAt).catch((err: Error) => {
      visibilityError = err.message;
      return [];
    });
    const ids = (type: string, from = cutAt, to = Infinity) =>
      started.filter((w) => w.type === type && w.startedAt >= from && w.startedAt < to).map((w) => w.workflowId);
    const failovers = ids('nodeFailover');
    const peerDrops = ids('peerDrop');
    const rebuilds = ids('volumeRebuild');
    const logs = await logEvidence(cluster, cutAt);
    const drops = await peerDropRows(db, cutAt);
    const refused = Object.values(logs.refusals).reduce((a, b) => a + b, 0);

    const initial: AckedWrite[] = volumes.map((v) => ({ volumeId: v, offset: 0, bytes: pattern(v, INITIAL_BYTES) }));
    say(`reading back ${initial.length + writer.acked.length} acknowledged writes`);
    const lost = await lostWrites(customer, [...initial, ...writer.acked]);
    const split = await splitBrainCount(cluster);
    const longest = writer.longestStall();
    const breaker = await breakerView(cluster).catch(() => null);

    return {
      nodes: opts.nodes,
      cutNodes: cutNodes.length,
      volumes: volumes.length,
      volumesPrimaryBehindCut: primaryInside,
      volumesSecondaryBehindCut: secondaryCut,
      volumesBothOutside: writerVolumes.length - secondaryCut,
      cutAt: new Date(cutAt).toISOString(),
      healAt: new Date(healAt).toISOString(),
      cutSeconds: (healAt - cutAt) / 1000,
      heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_MS / 1000,
      massOutageShare: breaker?.massOutageShare ?? opts.massOutageShare ?? null,
      breakerHeld:
        during.breakerOpenSamples > 0 && ids('nodeFailover', cutAt, healAt).length === 0 && ids('peerDrop', cutAt, healAt).length === 0,
      breakerOpenSamples: during.breakerOpenSamples,
      breakerSamples: during.breakerSamples,
      maxUnreachableSeen: during.maxUnreachable,
      failoversStarted: failovers.length,
      peerDropsGranted: peerDrops.length,
      peerDropsRefused: refused,
      peerDropRefusals: logs.refusals,
      peerDropVolumesAsked: drops.volumes,
      rebuildsStarted: rebuilds.length,
      rebuildsStartedDuringCut: ids('volumeRebuild', cutAt, healAt).length,
      volumeRecoveriesStarted: ids('volumeRecovery').length,
      serverRecoveriesStarted: ids('serverRecovery').length,
      workflowsStartedByType: Object.fromEntries([...new Set(started.map((w) => w.type))].map((t) => [t, ids(t).length])),
      volumeEventsSinceCut: await eventsSince(db, cutAt),
      nodesIsolated: isolatedAtHeal.length,
      nodesDeclaredDown: during.declaredDown.length,
      nodesBackInServiceSeconds: back.seconds,
      nodesNotBackInService: back.missing,
      volumesServingSeconds: serving.seconds,
      volumesNotServing: serving.missing,
      writesAcknowledged: writer.acked.length,
      writeErrors: Object.fromEntries(writer.errors),
      writesUnanswered: unanswered,
      lostAcknowledgedWrites: lost.length,
      lostWriteExamples: lost.slice(0, 10),
      longestStalledWriteSeconds: round(longest?.seconds ?? 0),
      longestStalledWrite: longest
        ? { volumeId: longest.volumeId, group: longest.group, startedAfterCutSeconds: round((longest.startedAt - cutAt) / 1000) }
        : null,
      longestWaitAtHealSeconds: round(stalledAtHeal?.seconds ?? 0),
      writesStalledOverGiveUp: writer.stalledOver('secondary-cut', HEARTBEAT_TIMEOUT_MS / 1000),
      writeP99SecondsBothOutside: round(percentile(writer.latenciesOf('outside'), 99)),
      writeMaxSecondsBothOutside: round(Math.max(0, ...writer.latenciesOf('outside'))),
      splitBrainWrites: split.splitBrainWrites,
      ackLinesJudged: split.ackLines,
      openWorkflowsAtEnd: open,
      visibilityError,
      evidence: {
        isolated: isolatedAtHeal,
        declaredDown: during.declaredDown,
        breakerLog: logs.breakerLines.slice(0, 10),
        failoverIds: failovers.slice(0, 20),
        peerDropIds: peerDrops.slice(0, 20),
        rebuildIds: rebuilds.slice(0, 20),
      },
      ...cpu,
    };
  } finally {
    await scratch.stop();
  }
}

async function placeVolumes(customer: BlackstartClient, count: number): Promise<string[]> {
  const progress = new Progress('partition: volumes placed and written', count);
  const volumes: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, async () => {
        const { volumeId } = await customer.createVolume(VOLUME_BYTES, true);
        await customer.write(volumeId, 0, pattern(volumeId, INITIAL_BYTES));
        return volumeId;
      }),
    );
    volumes.push(...batch);
    progress.update(volumes.length);
  }
  progress.done();
  return volumes;
}

async function copiesOf(db: import('pg').Pool, volumes: string[]): Promise<Map<string, { primary?: string; secondary?: string }>> {
  const { rows } = await db.query(`select volume_id, node_id, role from replicas where volume_id = any($1) and state = 'in-service'`, [
    volumes,
  ]);
  const out = new Map<string, { primary?: string; secondary?: string }>();
  for (const r of rows as { volume_id: string; node_id: string; role: string }[]) {
    const c = out.get(r.volume_id) ?? {};
    if (r.role === 'primary') c.primary = r.node_id;
    else if (r.role === 'secondary') c.secondary = r.node_id;
    out.set(r.volume_id, c);
  }
  return out;
}

/** Samples the breaker and the fleet once a second for the length of the cut. */
async function watchCut(
  cluster: import('../cluster/local-cluster.js').LocalCluster,
  operator: BlackstartClient,
  writer: PartitionWriter,
  cutNodes: string[],
  cutAt: number,
  cutSeconds: number,
) {
  let breakerOpenSamples = 0;
  let breakerSamples = 0;
  let maxUnreachable = 0;
  const declaredDown = new Set<string>();
  let lastSaid = 0;
  while (Date.now() - cutAt < cutSeconds * 1000) {
    const [breaker, fleet] = await Promise.all([breakerView(cluster).catch(() => null), operator.fleet().catch(() => null)]);
    if (breaker) {
      breakerSamples++;
      if (breaker.open) breakerOpenSamples++;
      maxUnreachable = Math.max(maxUnreachable, breaker.unreachable);
    }
    for (const n of fleet?.nodes ?? []) if (n.state !== 'in-service') declaredDown.add(n.nodeId);
    const t = (Date.now() - cutAt) / 1000;
    if (t - lastSaid >= 5) {
      lastSaid = t;
      const w = writer.inFlight();
      const notServing = (fleet?.nodes ?? []).filter((n) => n.state !== 'in-service').length;
      process.stderr.write(
        `partition: cut +${t.toFixed(0)}s/${cutSeconds}s: breaker ${breaker ? (breaker.open ? 'OPEN' : 'closed') : '?'} ` +
          `(${breaker?.unreachable ?? '?'}/${breaker?.nodes ?? '?'} unreachable), ${notServing} nodes not in service ` +
          `(${[...declaredDown].filter((n) => cutNodes.includes(n)).length} of the cut ones); ` +
          `${writer.acked.length} writes acknowledged, ${w.count} waiting (longest ${w.longestSeconds.toFixed(1)} s)\n`,
      );
    }
    await sleep(Math.max(0, 1000 - ((Date.now() - cutAt) % 1000)));
  }
  return { breakerOpenSamples, breakerSamples, maxUnreachable, declaredDown: [...declaredDown].sort(byNodeNumber) };
}

/** Until every node is in service and each node that must report (held its I/O, or was declared down) went through a recovery since the cut. */
async function watchReturn(operator: BlackstartClient, nodes: number, mustReport: string[], cutAt: number, healAt: number) {
  const progress = new Progress('partition: nodes back in service', nodes);
  let missing: string[] = [];
  while (Date.now() - healAt < RETURN_TIMEOUT_MS) {
    const answers = await Promise.all([operator.fleet(), operator.recoveries()]).catch(() => null);
    if (!answers) {
      await sleep(1000);
      continue;
    }
    const [fleet, { recoveries }] = answers;
    const since = recoveries.filter((r) => Date.parse(r.admittedAt) >= cutAt);
    const recovered = (n: string) => since.some((r) => r.nodeId === n && r.inServiceAt);
    missing = fleet.nodes
      .filter((n) => n.state !== 'in-service' || (mustReport.includes(n.nodeId) && !recovered(n.nodeId)))
      .map((n) => n.nodeId);
    progress.update(nodes - missing.length, `(${since.length} recoveries since the cut)`);
    if (missing.length === 0) {
      progress.done();
      const last = Math.max(healAt, ...since.filter((r) => r.inServiceAt).map((r) => Date.parse(r.inServiceAt!)));
      return { seconds: round((last - healAt) / 1000), missing };
    }
    await sleep(500);
  }
  progress.done(`timed out: ${missing.join(' ')}`);
  return { seconds: null, missing: missing.sort(byNodeNumber) };
}

/** Until every volume serves with I/O enabled on two in-service copies. */
async function waitServing(customer: BlackstartClient, db: import('pg').Pool, volumes: string[], healAt: number) {
  const progress = new Progress('partition: volumes serving on two copies', volumes.length);
  let missing: string[] = volumes;
  while (Date.now() - healAt < RETURN_TIMEOUT_MS) {
    const { rows } = await db
      .query(`select volume_id from replicas where volume_id = any($1) and state = 'in-service' group by volume_id having count(*) = 2`, [
        volumes,
      ])
      .catch(() => ({ rows: [] as { volume_id: string }[] }));
    const replicated = new Set(rows.map((r: { volume_id: string }) => r.volume_id));
    const next: string[] = [];
    for (const v of missing) {
      if (!replicated.has(v) || (await customer.volume(v).catch(() => null))?.ioState !== 'enabled') next.push(v);
    }
    missing = next;
    progress.update(volumes.length - missing.length);
    if (missing.length === 0) {
      progress.done();
      return { seconds: round((Date.now() - healAt) / 1000), missing };
    }
    await sleep(1000);
  }
  progress.done(`timed out: ${missing.length} not serving`);
  return { seconds: null, missing: missing.slice(0, 20) };
}

async function waitNoOpenWorkflows(cluster: import('../cluster/local-cluster.js').LocalCluster): Promise<string[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const open = await openWorkflows(cluster).catch(() => null);
    if ((open && open.length === 0) || Date.now() > deadline) return (open ?? []).map((w) => `${w.type}:${w.workflowId}`).slice(0, 20);
    await sleep(2000);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
