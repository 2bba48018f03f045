// One compound scenario: write and record, land 2–4 overlapping faults (compound-faults.ts) while
// acting as the customer, wait until the cluster is clean (every node back, recovered and in
// service, every decision made, every volume on two in-service copies, no workflow open), then
// judge the single-fault invariants and the fleet's (fleet-invariants.ts, probe.ts, process-logs.ts).
import { Client, Connection } from '@temporalio/client';
import { ScenarioAttachments } from './attach.js';
import { CHAOS_TIMINGS, type ChaosCluster } from './cluster.js';
import { FaultRunner, NodeKills, type LandedFault } from './compound-faults.js';
import { describeCompound, type CompoundFaultKind, type CompoundScenario } from './compound-scenario.js';
import { createAndWrite, HeldWrite } from './customer.js';
import { restartCollateral, sleep } from './faults.js';
import {
  divergentReplicas,
  heldByTheirPrimary,
  nodesNotInService,
  operatorHealth,
  servingCopies,
  underReplicatedVolumes,
  type Finding,
} from './fleet-invariants.js';
import { judge, recoverHarness, settle } from './judge.js';
import { probeWrites, volumesToProbe } from './probe.js';
import { finishResult, newResult, type RunState, type ScenarioResult } from './run.js';

/**
 * The default bound on a compound scenario's settling: three peer waits and the recoveries of a
 * whole fleet's incidents, a rebuild's retries and the repair loop's interval fit well inside.
 */
export const COMPOUND_SETTLE_MS = 180_000;

export interface FleetCounters {
  underReplicatedVolumes: number;
  divergentReplicas: number;
  nodesNotInService: number;
  enabledButHeld: number;
  serverErrors: number;
  databaseErrors: number;
}

export const FLEET_COUNTERS: (keyof FleetCounters)[] = [
  'underReplicatedVolumes',
  'divergentReplicas',
  'nodesNotInService',
  'enabledButHeld',
  'serverErrors',
  'databaseErrors',
];

export interface CompoundResult extends FleetCounters {
  faults: LandedFault[];
  /** `GET /v1/operator/health` once the scenario settled, when the API offers it (not an invariant). */
  health: unknown;
}

/** While one of these waits for its state, the customer holds back its decisions: a volume must stay awaiting its owner. */
const HOLD_DECISIONS: CompoundFaultKind[] = ['restored-holder', 'second-incident'];
const NOTES_PER_COUNTER = 10;
/** Past a healed network fault: the nodes' next heartbeats, the control plane's timeout, and a report. */
const NETWORK_SETTLE_MIN_MS = 2 * Number(CHAOS_TIMINGS.HEARTBEAT_TIMEOUT_MS) + 1000;

export async function runCompoundScenario(c: ChaosCluster, run: RunState, s: CompoundScenario): Promise<ScenarioResult> {
  const started = Date.now();
  const result = newResult(
    s.index,
    describeCompound(s),
    s.faults.some((f) => f.kind === 'network'),
  );
  const compound: CompoundResult = { faults: [], ...zeros(), health: null };
  result.compound = compound;
  const attachments = new ScenarioAttachments(c.cluster.apiUrls.join(','), c.customer.token, c.cluster.nbdCerts?.ca);
  const connection = await Connection.connect({ address: c.cluster.temporalAddress, connectTimeout: 5000 });
  let stopCustomer = async () => undefined as void;
  try {
    result.volumes = await createAndWrite(c.customer, attachments, run.ledger, s);
    const { rows } = await c.db.query<{ id: string; epoch: number }>(`select id, epoch from volumes where id = any($1)`, [result.volumes]);
    const kills = new NodeKills(c.cluster);
    const watch = {
      c,
      temporal: new Client({ connection }),
      volumes: result.volumes,
      epochs: new Map(rows.map((r) => [r.id, r.epoch])),
      downed: kills.lastDown,
    };
    let held: HeldWrite | null = null;
    const startHeld = () => {
      if (!s.heldWrite) return;
      const ref = {
        seed: s.seed,
        index: s.index,
        apiMayBeKilled: s.faults.some((f) => f.kind === 'process-crash' && f.crash.process === 'api'),
      };
      held = new HeldWrite(c.customer, attachments, run.ledger, ref, result.volumes[0]!, s.heldWrite);
      held.start();
    };
    const runner = new FaultRunner(watch, kills, result.volumes[0]!, { afterFirstDown: startHeld });
    let waitingFor: CompoundFaultKind | null = null;
    stopCustomer = actAsCustomer(c, run, runner, () => waitingFor !== null && HOLD_DECISIONS.includes(waitingFor));
    for (const f of s.faults) {
      waitingFor = f.kind;
      compound.faults.push(await runner.land(f));
    }
    waitingFor = null;
    await runner.finish();
    await stopCustomer();
    result.failedNodes = [...kills.lastDown.keys()].sort();
    for (const f of compound.faults.filter((x) => !x.landed)) result.notes.push(`${f.kind} did not land: ${f.note}`);

    const goal = {
      mustRecover: [...kills.lastDown].map(([nodeId, since]) => ({ nodeId, since })),
      held: held as HeldWrite | null,
      settleAfter: result.networkFault ? Date.now() + NETWORK_SETTLE_MIN_MS : 0,
      more: async () => {
        const under = await underReplicatedVolumes(c);
        return under.length ? `volumes under-replicated: ${under.map((f) => f.text).join('; ')}` : null;
      },
    };
    const unsettled = await settle(c, run, goal, result, run.settleMs);
    if (unsettled) result.notes.push(`not settled after ${run.settleMs / 1000} s: ${unsettled}`);
    await judgeFleet(c, run, attachments, result, compound); // first: the read-back covers its probe writes
    await judge(c, run, goal.held, result);
    if (result.networkFault) result.writeStallSeconds = goal.held?.waitedSeconds ?? null;
    compound.health = await operatorHealth(c);
    result.completed = !unsettled;
    if (!result.completed) result.notes.push(...attachments.logs().map((l) => `attach ${l}`));
  } catch (err) {
    result.notes.push(`harness error: ${(err as Error).stack ?? err}`);
    await stopCustomer();
    await recoverHarness(c).catch((e: Error) => result.notes.push(`could not restore the cluster: ${e.message}`));
  } finally {
    await attachments.stopAll();
    result.attachConnections = attachments.connections;
    await connection.close();
  }
  return finishResult(run, result, started);
}

/**
 * In the background while faults land: the owner's decisions (held back while a fault waits for
 * a volume awaiting its owner) and a restart of an API or worker that died on its own (never of
 * one a process crash took down on purpose). Returns its stop.
 */
function actAsCustomer(c: ChaosCluster, run: RunState, runner: FaultRunner, holding: () => boolean): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (!runner.crashing) await restartCollateral(c.cluster).catch(() => []);
      if (!holding()) await run.deciding.decide(run.ledger.volumes).catch(() => undefined);
      await sleep(500);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** The fleet counters: each finding counted once over the run (by its key), each named in the notes. */
async function judgeFleet(
  c: ChaosCluster,
  run: RunState,
  attachments: ScenarioAttachments,
  result: ScenarioResult,
  out: CompoundResult,
): Promise<void> {
  const count = (name: keyof FleetCounters, findings: Finding[]) => {
    const fresh = findings.filter((f) => {
      const key = `${name} ${f.key}`;
      if (run.findings.has(key)) return false;
      run.findings.add(key);
      return true;
    });
    out[name] = fresh.length;
    for (const f of fresh.slice(0, NOTES_PER_COUNTER)) result.notes.push(`${name}: ${f.text}`);
    if (fresh.length > NOTES_PER_COUNTER) result.notes.push(`${name}: … and ${fresh.length - NOTES_PER_COUNTER} more`);
  };
  count('underReplicatedVolumes', await underReplicatedVolumes(c));
  count('nodesNotInService', await nodesNotInService(c));
  const probe = { probes: run.probes, ledger: run.ledger, scenario: result.index };
  const probed = await probeWrites(attachments, await volumesToProbe(c, result.volumes, run.probes), probe);
  count('enabledButHeld', [...(await heldByTheirPrimary(c)), ...probed]);
  count('divergentReplicas', await divergentReplicas(c, await servingCopies(c), run.scrubbed, result.notes));
  const logs = await run.logs.scan();
  count(
    'serverErrors',
    logs.serverErrors.map((text, i) => ({ key: `${result.index}:${i}`, text })),
  );
  count(
    'databaseErrors',
    logs.databaseErrors.map((text, i) => ({ key: `${result.index}:${i}`, text })),
  );
}

function zeros(): FleetCounters {
  return Object.fromEntries(FLEET_COUNTERS.map((k) => [k, 0])) as unknown as FleetCounters;
}
