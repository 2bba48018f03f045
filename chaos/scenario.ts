// The pure scenario generator: (seed, index) → one fault scenario, so any scenario of a run can
// be replayed alone. Copies are named by role; the runner resolves roles to nodes at run time.
import { Prng } from './prng.js';

export type NodeFault = 'primary' | 'secondary' | 'both' | 'power-domain';
export type Role = 'primary' | 'secondary';
export type CrashedProcess = 'worker' | 'api' | 'temporal';
/** Through the customer API (PUT /data), or by a real NBD client through `blackstart attach`. */
export type WritePath = 'api' | 'nbd';

export interface WritePlan {
  offset: number;
  length: number;
  via: WritePath;
  /** The byte an NBD write repeats (qemu-io `write -P`); an API write carries random bytes. */
  pattern: number;
}

export interface VolumePlan {
  autoEnableIo: boolean;
  writes: WritePlan[];
  /** Compound scenarios only: the volume's size (VOLUME_BYTES when absent). */
  sizeBytes?: number;
}

/** Damage to one block of a down copy's data file, its CRC left as it was. */
export interface Corruption {
  kind: 'flip' | 'tear';
  copy: Role;
  /** A byte inside one of the target volume's acknowledged writes: its block is damaged. */
  at: number;
}

export interface ProcessCrash {
  process: CrashedProcess;
  /** After the first node starts coming back. */
  afterMs: number;
  downMs: number;
}

/**
 * A network fault on the node holding the target's copy in `role` (for `router`: every node
 * behind that copy's router), in force for `durationMs`, then healed. Nodes stay up throughout.
 */
export type NetworkFaultKind = 'cut-control-plane' | 'cut-peers' | 'cut-everything' | 'router' | 'flap' | 'loss';

export interface NetworkFaultPlan {
  kind: NetworkFaultKind;
  role: Role;
  durationMs: number;
  /** For `loss`: the share of packets dropped each way. */
  lossPercent: number;
}

export interface Scenario {
  seed: number;
  index: number;
  /** volumes[0] is the target: its copies decide which nodes fail. */
  volumes: VolumePlan[];
  fault: NodeFault;
  /** For a power-domain fault: the domain of the target's copy in this role. */
  domainOf: Role;
  corruption: Corruption | null;
  crash: ProcessCrash | null;
  /** Restart delay of each failed node, in the order the runner lists them. */
  returnDelaysMs: number[];
  /** A write to the target issued after the fault, before any decision. */
  heldWrite: WritePlan | null;
  /** When set, this fault replaces the node fault: no node is killed, nothing damaged. */
  network: NetworkFaultPlan | null;
}

/**
 * Which writes go through the attach path is drawn from a stream of its own, (seed, index,
 * PATH_STREAM), so every other field of a scenario is what it was before writes had paths.
 */
export const PATH_STREAM = 0x6e6264;
/** Network faults are drawn from a stream of their own too, and only in runs on network hosts. */
const NETWORK_STREAM = 0x6e6574;
const NETWORK_FAULTS: NetworkFaultKind[] = ['cut-control-plane', 'cut-peers', 'cut-everything', 'router', 'flap', 'loss'];
/** The share of scenarios of a network run whose fault is a network fault. */
const NETWORK_SHARE = 0.5;

export const VOLUME_BYTES = 256 * 1024;
const SLOT_BYTES = 16 * 1024;
/** The slots every scenario's writes land in, shuffled. */
export function shuffledSlots(rng: Prng): number[] {
  return rng.shuffle(Array.from({ length: VOLUME_BYTES / SLOT_BYTES }, (_, i) => i));
}
const FAULTS: NodeFault[] = ['primary', 'secondary', 'both', 'power-domain'];
export const PROCESSES: CrashedProcess[] = ['worker', 'api', 'temporal'];

export interface Timings {
  peerWaitMs: number;
  /** The run's nodes sit on network hosts of their own, so network faults can be drawn. */
  networkHosts?: boolean;
}

export function scenarioFor(seed: number, index: number, timings: Timings): Scenario {
  const s = withWritePaths(baseScenario(seed, index, timings), Prng.of(seed, index, PATH_STREAM));
  return timings.networkHosts ? withNetworkFault(s, Prng.of(seed, index, NETWORK_STREAM), timings) : s;
}

/** Half the scenarios of a network run trade their node fault for a network fault, lasting past the peer wait a third of the time. */
function withNetworkFault(s: Scenario, rng: Prng, timings: Timings): Scenario {
  if (!rng.chance(NETWORK_SHARE)) return s;
  return { ...s, network: networkFaultPlan(rng, timings), corruption: null };
}

export function networkFaultPlan(rng: Prng, { peerWaitMs }: Timings): NetworkFaultPlan {
  return {
    kind: rng.pick(NETWORK_FAULTS),
    role: rng.pick(['primary', 'secondary']),
    durationMs: rng.chance(0.35) ? rng.int(peerWaitMs + 500, peerWaitMs * 2) : rng.int(500, peerWaitMs),
    lossPercent: rng.int(10, 60),
  };
}

function baseScenario(seed: number, index: number, timings: Timings): Scenario {
  const rng = Prng.of(seed, index);
  const slots = shuffledSlots(rng);
  const volumes = Array.from({ length: rng.int(2, 3) }, () => volumePlan(rng, slots));
  const fault = rng.pick(FAULTS);
  const domainOf: Role = rng.pick(['primary', 'secondary']);
  return {
    seed,
    index,
    volumes,
    fault,
    domainOf,
    corruption: rng.chance(0.4) ? corruption(rng, fault, domainOf, volumes[0]!) : null,
    crash: rng.chance(0.5) ? { process: rng.pick(PROCESSES), afterMs: rng.int(0, 4000), downMs: rng.int(300, 3000) } : null,
    returnDelaysMs: Array.from({ length: 2 }, () => returnDelay(rng, timings)),
    heldWrite: rng.chance(0.5) ? writePlan(rng, slots.pop()!) : null,
    network: null,
  };
}

/** Every write of a scenario lands in its own slot, so each one can be checked on its own. */
export function volumePlan(rng: Prng, freeSlots: number[]): VolumePlan {
  const count = rng.int(2, 5);
  return { autoEnableIo: rng.chance(0.5), writes: Array.from({ length: count }, () => writePlan(rng, freeSlots.pop()!)) };
}

export function writePlan(rng: Prng, slot: number): WritePlan {
  return { offset: slot * SLOT_BYTES + rng.int(0, SLOT_BYTES / 2), length: rng.int(1, SLOT_BYTES / 2), via: 'api', pattern: 0 };
}

/**
 * Every other write of the scenario (in order over its volumes, from a drawn parity) goes
 * through the attach path, so every volume (2+ writes each) has writes both ways; the held
 * write does half the time.
 */
export function withWritePaths<S extends Pick<Scenario, 'volumes' | 'heldWrite'>>(s: S, rng: Prng): S {
  const parity = rng.int(0, 1);
  let k = 0;
  const path = (w: WritePlan, nbd: boolean): WritePlan => (nbd ? { ...w, via: 'nbd', pattern: rng.int(1, 255) } : w);
  const volumes = s.volumes.map((v) => ({ ...v, writes: v.writes.map((w) => path(w, (k++ + parity) % 2 === 0)) }));
  const heldNbd = rng.chance(0.5);
  return { ...s, volumes, heldWrite: s.heldWrite && path(s.heldWrite, heldNbd) };
}

/** Only ever one copy is damaged: a fault that destroys every copy is not a loss invariant 2 covers. */
function corruption(rng: Prng, fault: NodeFault, domainOf: Role, target: VolumePlan): Corruption {
  const copy: Role = fault === 'both' ? rng.pick(['primary', 'secondary']) : fault === 'power-domain' ? domainOf : fault;
  const write = rng.pick(target.writes);
  return { kind: rng.pick(['flip', 'tear']), copy, at: write.offset + rng.int(0, write.length - 1) };
}

/** Most nodes return within the peer wait; about a third come back after it. */
export function returnDelay(rng: Prng, { peerWaitMs }: Timings): number {
  return rng.chance(0.35) ? rng.int(peerWaitMs + 500, peerWaitMs * 2) : rng.int(0, peerWaitMs / 2);
}

/** One line for progress output and the JSON report. */
export function describeScenario(s: Scenario): string {
  const parts = s.network
    ? [
        `net-${s.network.kind}(${s.network.role}${s.network.kind === 'loss' ? ` ${s.network.lossPercent}%` : ''} for ${s.network.durationMs}ms)`,
      ]
    : [s.fault === 'power-domain' ? `power-domain(${s.domainOf})` : s.fault];
  if (s.corruption) parts.push(`${s.corruption.kind}(${s.corruption.copy} @${s.corruption.at})`);
  if (s.crash) parts.push(`kill-${s.crash.process}(+${s.crash.afterMs}ms for ${s.crash.downMs}ms)`);
  if (!s.network) parts.push(`returns=[${s.returnDelaysMs.map((d) => `${d}ms`).join(',')}]`);
  const writes = s.volumes.flatMap((v) => v.writes);
  parts.push(`nbd-writes=${writes.filter((w) => w.via === 'nbd').length}/${writes.length}`);
  if (s.heldWrite) parts.push(`held-write(${s.heldWrite.via})`);
  parts.push(`auto=[${s.volumes.map((v) => (v.autoEnableIo ? 'y' : 'n')).join('')}]`);
  return parts.join(' ');
}
