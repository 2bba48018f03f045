// The pure generator of compound scenarios (`npm run chaos -- --compound`): (seed, index) → 2–4
// overlapping faults, in the spirit of Ceph's OSD thrasher. The first fault takes nodes down; each
// later one waits for a state of the cluster (a recovery under way, a volume awaiting its owner, a
// restore or a rebuild in flight, a volume just enabled) and lands while earlier recoveries are
// still open. Drawn from a stream of its own, so the single-fault scenarios are what they were.
import { Prng } from './prng.js';
import {
  networkFaultPlan,
  PATH_STREAM,
  PROCESSES,
  returnDelay,
  shuffledSlots,
  volumePlan,
  withWritePaths,
  writePlan,
  type NetworkFaultPlan,
  type ProcessCrash,
  type Role,
  type Timings,
  type VolumePlan,
  type WritePlan,
} from './scenario.js';

/** Which nodes a flicker or an outage takes down: a copy of the target, both, a copy's power domain, or every node (the DC). */
export type NodeScope = 'primary' | 'secondary' | 'both' | 'power-domain' | 'dc';

/** Faults that wait for a state of the cluster, then take down the node that state names. */
export type TriggeredKind = 'second-incident' | 'restored-holder' | 'restore-target' | 'rebuild-target' | 'new-primary';

export type CompoundFault =
  /** Nodes down, each back after its delay (`returnDelaysMs[i % length]`). Only ever the first fault. */
  | { kind: 'outage'; scope: NodeScope; role: Role; returnDelaysMs: number[] }
  /** Nodes down for `firstDownMs` (within or past the heartbeat timeout), back, down again `againAfterMs` after their recovery began. */
  | { kind: 'flicker'; scope: NodeScope; role: Role; afterMs: number; firstDownMs: number; againAfterMs: number; secondDownMs: number }
  /** `afterMs` after the state is seen, its node goes down for `downMs`. */
  | { kind: TriggeredKind; afterMs: number; downMs: number }
  | { kind: 'process-crash'; crash: ProcessCrash }
  /** On the node holding the target's copy in `network.role`, `afterMs` after the fault before it. */
  | { kind: 'network'; afterMs: number; network: NetworkFaultPlan };

export type CompoundFaultKind = CompoundFault['kind'];

export interface CompoundScenario {
  seed: number;
  index: number;
  /** volumes[0] is the target: the faults' roles name its copies. */
  volumes: VolumePlan[];
  faults: CompoundFault[];
  /** A write to the target issued after the first fault, before any decision. */
  heldWrite: WritePlan | null;
}

export interface CompoundTimings extends Timings {
  heartbeatTimeoutMs: number;
}

const COMPOUND_STREAM = 0x636d70;
/** The target is large enough for a restore and a rebuild to take a moment a watcher can see. */
export const TARGET_VOLUME_BYTES = 16 * 1024 * 1024;
export const OTHER_VOLUME_BYTES = 1024 * 1024;
/** Writes land in the first VOLUME_BYTES; the probes of `enabledButHeld` in 4 KiB steps from here. */
export const PROBE_BASE = 512 * 1024;
export const PROBE_BYTES = 4096;

const OPENER_SCOPES: NodeScope[] = ['primary', 'secondary', 'both', 'power-domain', 'dc'];
/** Later faults that need a volume recovery: both copies of the target must go down first. */
const NEEDS_RECOVERY: CompoundFaultKind[] = ['second-incident', 'restored-holder', 'restore-target'];
/** Later faults that need a volume waiting for its owner: the target does not auto-enable. */
const NEEDS_OWNER: CompoundFaultKind[] = ['second-incident', 'restored-holder'];
/** The order in which the states the triggered faults wait for arise in one recovery. */
const TIMELINE: TriggeredKind[] = ['restore-target', 'restored-holder', 'second-incident', 'new-primary', 'rebuild-target'];

export function laterKinds(networkHosts: boolean): CompoundFaultKind[] {
  const kinds: CompoundFaultKind[] = ['flicker', ...TIMELINE, 'process-crash'];
  return networkHosts ? [...kinds, 'network'] : kinds;
}

export function compoundScenarioFor(seed: number, index: number, timings: CompoundTimings): CompoundScenario {
  const rng = Prng.of(seed, index, COMPOUND_STREAM);
  const slots = shuffledSlots(rng);
  const volumes = Array.from({ length: rng.int(2, 3) }, (_, v) => ({
    ...volumePlan(rng, slots),
    sizeBytes: v === 0 ? TARGET_VOLUME_BYTES : OTHER_VOLUME_BYTES,
  }));
  const later = inTimelineOrder(Array.from({ length: rng.int(1, 3) }, () => rng.pick(laterKinds(Boolean(timings.networkHosts)))));
  const needsRecovery = later.some((k) => NEEDS_RECOVERY.includes(k));
  if (later.some((k) => NEEDS_OWNER.includes(k))) volumes[0]!.autoEnableIo = false;
  // A rebuild follows a failover (or an enable without an identical twin): with nothing else to
  // start one, the first fault is one copy's node silent past the heartbeat timeout.
  const needsFailover = !needsRecovery && later.includes('rebuild-target') && !later.includes('new-primary');
  const opener = needsFailover ? failoverOutage(rng, timings) : openerFault(rng, needsRecovery, timings);
  const faults = [opener, ...later.map((k) => laterFault(rng, k, timings))];
  const heldWrite = rng.chance(0.5) ? writePlan(rng, slots.pop()!) : null;
  return withWritePaths({ seed, index, volumes, faults, heldWrite }, Prng.of(seed, index, COMPOUND_STREAM, PATH_STREAM));
}

/** The triggered kinds keep their slots but take them in the order their states arise; the others stay where drawn. */
function inTimelineOrder(kinds: CompoundFaultKind[]): CompoundFaultKind[] {
  const rank = (k: CompoundFaultKind) => TIMELINE.indexOf(k as TriggeredKind);
  const triggered = kinds.filter((k) => rank(k) >= 0).sort((a, b) => rank(a) - rank(b));
  return kinds.map((k) => (rank(k) >= 0 ? triggered.shift()! : k));
}

/** A flicker or an outage; when a later fault needs a volume recovery, it takes both of the target's copies. */
function openerFault(rng: Prng, needsRecovery: boolean, timings: CompoundTimings): CompoundFault {
  const scope: NodeScope = needsRecovery ? rng.pick(['both', 'dc']) : rng.pick(OPENER_SCOPES);
  const role: Role = rng.pick(['primary', 'secondary']);
  if (rng.chance(0.5)) return { ...flicker(rng, timings), scope, role, afterMs: 0 };
  return { kind: 'outage', scope, role, returnDelaysMs: [returnDelay(rng, timings), returnDelay(rng, timings)] };
}

/** One copy's node (or its power domain) down past the heartbeat timeout: its volumes fail over and rebuild. */
function failoverOutage(rng: Prng, timings: CompoundTimings): CompoundFault {
  const scope: NodeScope = rng.pick(['primary', 'secondary', 'power-domain']);
  const past = () => rng.int(timings.heartbeatTimeoutMs + 500, 2 * timings.heartbeatTimeoutMs + timings.peerWaitMs);
  return { kind: 'outage', scope, role: rng.pick(['primary', 'secondary']), returnDelaysMs: [past(), past()] };
}

function laterFault(rng: Prng, kind: CompoundFaultKind, timings: CompoundTimings): CompoundFault {
  switch (kind) {
    case 'flicker':
      return { ...flicker(rng, timings), scope: rng.pick(OPENER_SCOPES), role: rng.pick(['primary', 'secondary']) };
    case 'process-crash':
      return { kind, crash: { process: rng.pick(PROCESSES), afterMs: rng.int(0, 3000), downMs: rng.int(300, 3000) } };
    case 'network':
      return { kind, afterMs: rng.int(0, 2000), network: networkFaultPlan(rng, timings) };
    case 'restore-target':
    case 'rebuild-target':
      return { kind, afterMs: 0, downMs: returnDelay(rng, timings) };
    case 'new-primary':
      return { kind, afterMs: rng.int(0, 300), downMs: returnDelay(rng, timings) };
    case 'second-incident':
    case 'restored-holder':
      return { kind, afterMs: rng.int(0, 2000), downMs: returnDelay(rng, timings) };
    case 'outage':
      throw new Error('an outage is only ever the first fault');
  }
}

/** Back within the heartbeat timeout (a restart the control plane may not notice) or past it (declared down). */
function flicker(rng: Prng, timings: CompoundTimings): Extract<CompoundFault, { kind: 'flicker' }> {
  const hb = timings.heartbeatTimeoutMs;
  const firstDownMs = rng.chance(0.5) ? rng.int(200, Math.max(300, hb - 300)) : rng.int(hb + 500, 2 * hb + timings.peerWaitMs / 2);
  return {
    kind: 'flicker',
    scope: 'dc',
    role: 'primary',
    afterMs: rng.int(0, 2000),
    firstDownMs,
    againAfterMs: rng.int(0, 1500),
    secondDownMs: returnDelay(rng, timings),
  };
}

/** One line for progress output and the JSON report. */
export function describeCompound(s: CompoundScenario): string {
  const faults = s.faults.map(describeFault).join(' → ');
  const writes = s.volumes.flatMap((v) => v.writes);
  const parts = [faults, `nbd-writes=${writes.filter((w) => w.via === 'nbd').length}/${writes.length}`];
  if (s.heldWrite) parts.push(`held-write(${s.heldWrite.via})`);
  parts.push(`auto=[${s.volumes.map((v) => (v.autoEnableIo ? 'y' : 'n')).join('')}]`);
  return parts.join(' ');
}

export function describeFault(f: CompoundFault): string {
  const scope = (x: { scope: NodeScope; role: Role }) => (x.scope === 'power-domain' ? `power-domain(${x.role})` : x.scope);
  switch (f.kind) {
    case 'outage':
      return `outage(${scope(f)} returns=[${f.returnDelaysMs.map((d) => `${d}ms`).join(',')}])`;
    case 'flicker':
      return `flicker(${scope(f)} +${f.afterMs}ms down ${f.firstDownMs}ms, again +${f.againAfterMs}ms into its recovery for ${f.secondDownMs}ms)`;
    case 'process-crash':
      return `kill-${f.crash.process}(+${f.crash.afterMs}ms for ${f.crash.downMs}ms)`;
    case 'network':
      return `net-${f.network.kind}(${f.network.role} +${f.afterMs}ms for ${f.network.durationMs}ms)`;
    default:
      return `${f.kind}(+${f.afterMs}ms down ${f.downMs}ms)`;
  }
}
