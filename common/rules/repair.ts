// The repair loop's rule: what a pass of `repairPass` repairs, from the facts it read. Three
// conditions no workflow owns: a volume under-replicated, a node recovering with no server
// recovery, a copy left in a transitional state. Nothing while the mass-outage breaker holds, and
// nothing at all when the fleet is well (no action and no write).
import type { NodeState, ReplicaState, VolumeState } from '../states.js';
import type { ReplicaRole } from '../types.js';

export type RepairKind = 'under-replicated' | 'node-stuck-recovering' | 'replica-stuck';

/** The states a copy passes through on its way back to service; it should not stay in one. */
export const TRANSITIONAL_STATES: ReplicaState[] = ['recovering', 'candidate', 'restored', 'rebuilding'];

export interface RepairPolicy {
  /** How long a volume stays under-replicated before its first repair: a failover or recovery starts its own rebuild within it. */
  graceMs: number;
  /** How long a node may stay recovering, or a copy transitional, with no workflow that owns it. */
  stuckMs: number;
  /** The wait after a first failed attempt; it doubles with each attempt, up to `backoffCapMs`. */
  backoffMs: number;
  backoffCapMs: number;
  /** Repair rebuilds running at once: the data queue's bound (DATA_CONCURRENCY). */
  maxRebuilds: number;
}

/** Attempts after which a repair that still finds its condition counts as failing. */
export const FAILING_AFTER = 3;

export interface RepairCopy {
  nodeId: string;
  role: ReplicaRole;
  state: ReplicaState;
  /** When the copy last changed state (ms since the epoch). */
  updatedAt: number;
}

export interface RepairVolume {
  volumeId: string;
  state: VolumeState;
  epoch: number;
  /** Its review waits for the owner's decision: not the loop's to repair. */
  awaitingOwner: boolean;
  /** Every copy not deleted. */
  copies: RepairCopy[];
}

export interface RepairNode {
  nodeId: string;
  state: NodeState;
  /** Its heartbeat vouches for its copies (what a rebuild source needs). */
  fresh: boolean;
  /** Heard from within the heartbeat timeout (a recovering node's heartbeat is heard but vouches for nothing). */
  heard: boolean;
  /** Its newest incident: it is asked to report again only if no newer one was admitted meanwhile. */
  newestIncident: number;
}

/** A row of `repairs`. */
export interface RepairRecord {
  subject: string;
  kind: RepairKind;
  attempts: number;
  lastError: string | null;
  /** ms since the epoch */
  nextAttemptAt: number;
  failing: boolean;
}

export interface VolumeWork {
  volumeId: string;
  epoch: number;
  rebuild: boolean;
}

/**
 * Does a running workflow own the volume? A recovery or a peer drop of any epoch does; a rebuild
 * only at the volume's epoch — one of an older epoch can no longer add a copy (its source refuses
 * the older epoch) and is only cleaning up, which may take a minute on a dead target.
 */
export function ownsVolume(work: VolumeWork, volume: { volumeId: string; epoch: number }): boolean {
  return work.volumeId === volume.volumeId && (!work.rebuild || work.epoch >= volume.epoch);
}

export interface RepairFacts {
  /** The database's clock (ms since the epoch): every time here is on it. */
  now: number;
  breakerHolds: boolean;
  /** For asking nodes to report without tripping the breaker: nodes it counts as unreachable now, of `total`. */
  fleet: { total: number; unreachable: number; massOutageShare: number };
  /** The volumes a pass looks at (under-replicated, with a copy past the bound, or with a record), with their copies. */
  volumes: RepairVolume[];
  /** The nodes holding those copies, and every recovering node. */
  nodes: RepairNode[];
  /** The workflows running now that work on a volume (`rebuild`: a rebuild, at `epoch`). */
  volumeWork: VolumeWork[];
  /** Nodes with a server recovery or failover running. */
  busyNodes: string[];
  /** Rebuilds the loop started that still run. */
  repairRebuildsRunning: number;
  records: RepairRecord[];
}

export type RepairAction =
  | { kind: 'rebuild'; subjects: string[]; volumeId: string; source: string; epoch: number; attempt: number }
  /** A rebuild with no workflow: the partial copy leaves the volume; `dropPeerOf` (the only other member) mirrors to nobody again. */
  | { kind: 'abandon'; subjects: string[]; volumeId: string; nodeId: string; epoch: number; dropPeerOf: string | null }
  /** The node is declared down (from `state`, unless a newer incident than `newestIncident` came): its next heartbeat asks for a report. */
  | { kind: 'report'; subjects: string[]; nodeId: string; state: NodeState; newestIncident: number };

interface Condition {
  subject: string;
  kind: RepairKind;
  /** The repair this condition calls for now, if any (its budget and backoff still apply). */
  action: RepairAction | null;
}

export interface RepairPlan {
  actions: RepairAction[];
  /** Every condition found, with its kind; `idle` when no workflow owns it (it had a repair to make). */
  found: { subject: string; kind: RepairKind; idle: boolean }[];
}

export const volumeSubject = (volumeId: string) => `volume:${volumeId}`;
export const nodeSubject = (nodeId: string) => `node:${nodeId}`;
export const replicaSubject = (volumeId: string, nodeId: string) => `replica:${volumeId}@${nodeId}`;

/** The wait after `attempts` attempts: `backoffMs` doubled per attempt after the first, at most `backoffCapMs`. */
export function repairBackoffMs(attempts: number, policy: Pick<RepairPolicy, 'backoffMs' | 'backoffCapMs'>): number {
  if (attempts <= 0) return 0;
  return Math.min(policy.backoffCapMs, policy.backoffMs * 2 ** Math.min(attempts - 1, 40));
}

/** What a pass does. Nothing while the breaker holds; conditions first seen wait their grace. */
export function planRepairs(facts: RepairFacts, policy: RepairPolicy): RepairPlan {
  if (facts.breakerHolds) return { actions: [], found: [] };
  const conditions = findConditions(facts, policy);
  const records = new Map(facts.records.map((r) => [r.subject, r]));
  const due = conditions.filter((c) => c.action && isDue(records.get(c.subject), c.kind, facts.now, policy));
  let rebuilds = Math.max(0, policy.maxRebuilds - facts.repairRebuildsRunning);
  let reports = Math.max(0, Math.floor(facts.fleet.massOutageShare * facts.fleet.total - facts.fleet.unreachable));
  const actions: RepairAction[] = [];
  for (const { action } of due.sort((a, b) => order(records, a) - order(records, b) || a.subject.localeCompare(b.subject))) {
    if (action!.kind === 'rebuild' && rebuilds-- <= 0) continue;
    if (action!.kind === 'report') {
      const same = actions.find((a) => a.kind === 'report' && a.nodeId === action!.nodeId);
      if (same) same.subjects.push(...action!.subjects);
      if (same || reports-- <= 0) continue;
    }
    actions.push({ ...action!, subjects: [...action!.subjects] } as RepairAction);
  }
  return { actions, found: conditions.map(({ subject, kind, action }) => ({ subject, kind, idle: action !== null })) };
}

/** A condition first seen now waits its grace: a failover's rebuild, or a report, may be on its way. */
function isDue(record: RepairRecord | undefined, kind: RepairKind, now: number, policy: RepairPolicy): boolean {
  return record ? record.nextAttemptAt <= now : firstWait(kind, policy) <= 0;
}

function firstWait(kind: RepairKind, policy: RepairPolicy): number {
  if (kind === 'under-replicated') return policy.graceMs;
  if (kind === 'node-stuck-recovering') return policy.stuckMs;
  return 0; // a copy is stuck only once its state is older than the bound
}

/** Fewest attempts first, so that a repair failing again and again cannot take every slot. */
function order(records: Map<string, RepairRecord>, c: Condition): number {
  return records.get(c.subject)?.attempts ?? 0;
}

function findConditions(facts: RepairFacts, policy: RepairPolicy): Condition[] {
  const nodes = new Map(facts.nodes.map((n) => [n.nodeId, n]));
  const owned = (v: RepairVolume) => facts.volumeWork.some((w) => ownsVolume(w, v));
  const busyNodes = new Set(facts.busyNodes);
  const out: Condition[] = [];
  for (const volume of facts.volumes) {
    if (isUnderReplicated(volume, nodes)) {
      const source = !owned(volume) ? rebuildSource(volume, nodes) : null;
      const attempt = (facts.records.find((r) => r.subject === volumeSubject(volume.volumeId))?.attempts ?? 0) + 1;
      const subjects = [volumeSubject(volume.volumeId)];
      const action: RepairAction | null = source
        ? { kind: 'rebuild', subjects, volumeId: volume.volumeId, source, epoch: volume.epoch, attempt }
        : null;
      out.push({ subject: subjects[0]!, kind: 'under-replicated', action });
    }
    for (const copy of volume.copies) {
      if (!TRANSITIONAL_STATES.includes(copy.state) || facts.now - copy.updatedAt < policy.stuckMs) continue;
      if (owned(volume) || busyNodes.has(copy.nodeId)) continue;
      const subject = replicaSubject(volume.volumeId, copy.nodeId);
      out.push({ subject, kind: 'replica-stuck', action: stuckCopyRepair(subject, volume, copy, nodes.get(copy.nodeId)) });
    }
  }
  for (const node of facts.nodes) {
    if (node.state !== 'recovering' || !node.heard || busyNodes.has(node.nodeId)) continue;
    const subject = nodeSubject(node.nodeId);
    const action: RepairAction = {
      kind: 'report',
      subjects: [subject],
      nodeId: node.nodeId,
      state: node.state,
      newestIncident: node.newestIncident,
    };
    out.push({ subject, kind: 'node-stuck-recovering', action });
  }
  return out;
}

/** A volume that serves (not awaiting its owner) with fewer than two in-service copies on in-service nodes. */
export function isUnderReplicated(volume: RepairVolume, nodes: Map<string, RepairNode>): boolean {
  if (volume.awaitingOwner || (volume.state !== 'available' && volume.state !== 'in-use')) return false;
  return volume.copies.filter((c) => c.state === 'in-service' && nodes.get(c.nodeId)?.state === 'in-service').length < 2;
}

/** The copy a new secondary is rebuilt from: the volume's only member, an in-service primary on an in-service node heard just now. */
function rebuildSource(volume: RepairVolume, nodes: Map<string, RepairNode>): string | null {
  const members = volume.copies.filter((c) => c.state !== 'stale' && c.state !== 'deleted');
  const only = members.length === 1 ? members[0]! : null;
  const node = only ? nodes.get(only.nodeId) : undefined;
  if (!only || only.state !== 'in-service' || only.role !== 'primary' || node?.state !== 'in-service' || !node.fresh) return null;
  return only.nodeId;
}

/**
 * A rebuilding copy with no rebuild is abandoned. Any other transitional copy is re-examined by a
 * report of its node, if the node is in service (a recovering node is the node condition's; a
 * down node reports when it returns).
 */
function stuckCopyRepair(subject: string, volume: RepairVolume, copy: RepairCopy, node: RepairNode | undefined): RepairAction | null {
  if (copy.state === 'rebuilding') {
    const others = volume.copies.filter((c) => c.nodeId !== copy.nodeId && c.state !== 'stale' && c.state !== 'deleted');
    const primary = others.length === 1 && others[0]!.role === 'primary' && others[0]!.state === 'in-service' ? others[0]!.nodeId : null;
    return {
      kind: 'abandon',
      subjects: [subject],
      volumeId: volume.volumeId,
      nodeId: copy.nodeId,
      epoch: volume.epoch,
      dropPeerOf: primary,
    };
  }
  if (node?.state !== 'in-service' || !node.heard) return null;
  return { kind: 'report', subjects: [subject], nodeId: copy.nodeId, state: node.state, newestIncident: node.newestIncident };
}

/** How an action ended: null, or why it failed. */
export interface RepairOutcome {
  subjects: string[];
  error: string | null;
}

export interface RepairChanges {
  upserts: (RepairRecord & { attempted: boolean })[];
  /** Subjects whose condition is gone. */
  resolved: string[];
}

/**
 * The writes a pass makes: a condition first seen gets a record due after its grace; an attempt
 * counts and backs off; a condition still there after `FAILING_AFTER` attempts, with nothing
 * running for it, is failing; a record whose condition is gone goes. Only what changed is written.
 */
export function settleRepairs(facts: RepairFacts, plan: RepairPlan, outcomes: RepairOutcome[], policy: RepairPolicy): RepairChanges {
  if (facts.breakerHolds) return { upserts: [], resolved: [] };
  const records = new Map(facts.records.map((r) => [r.subject, r]));
  const attempted = new Map(outcomes.flatMap((o) => o.subjects.map((s) => [s, o.error] as const)));
  const upserts: RepairChanges['upserts'] = [];
  for (const { subject, kind, idle } of plan.found) {
    const before = records.get(subject);
    const after = nextRecord(before, { subject, kind, idle }, attempted, facts.now, policy);
    if (after.attempted || !before || !sameRecord(before, after)) upserts.push(after);
  }
  const found = new Set(plan.found.map((f) => f.subject));
  return { upserts, resolved: facts.records.filter((r) => !found.has(r.subject)).map((r) => r.subject) };
}

/**
 * An idle condition that had attempts is still there after them: each of those attempts failed.
 * Failing once that makes `FAILING_AFTER` in a row (an attempt that errored counts at once).
 */
function nextRecord(
  before: RepairRecord | undefined,
  found: { subject: string; kind: RepairKind; idle: boolean },
  attempted: Map<string, string | null>,
  now: number,
  policy: RepairPolicy,
): RepairRecord & { attempted: boolean } {
  const { subject, kind, idle } = found;
  const base = before ?? { subject, kind, attempts: 0, lastError: null, nextAttemptAt: now + firstWait(kind, policy), failing: false };
  const failedBefore = idle && base.attempts >= FAILING_AFTER;
  if (!attempted.has(subject)) return { ...base, kind, failing: base.failing || failedBefore, attempted: false };
  const error = attempted.get(subject) ?? null;
  const attempts = base.attempts + 1;
  return {
    subject,
    kind,
    attempts,
    lastError: error ?? (base.attempts > 0 ? `attempt ${base.attempts} did not repair it` : base.lastError),
    nextAttemptAt: now + repairBackoffMs(attempts, policy),
    failing: base.failing || failedBefore || (error !== null && attempts >= FAILING_AFTER),
    attempted: true,
  };
}

function sameRecord(a: RepairRecord, b: RepairRecord): boolean {
  return (
    a.kind === b.kind &&
    a.attempts === b.attempts &&
    a.lastError === b.lastError &&
    a.nextAttemptAt === b.nextAttemptAt &&
    a.failing === b.failing
  );
}

/** The Temporal Schedule that starts a `repairPass` at each interval. */
export const FLEET_REPAIR_SCHEDULE_ID = 'fleet-repair';

/** A rebuild the loop starts: one id per attempt, so a failed attempt never blocks the next. */
export function volumeRepairId(volumeId: string, epoch: number, attempt: number): string {
  return `volume-repair-${volumeId}-e${epoch}-${attempt}`;
}

/** The workflow types whose running executions own a volume or a node. */
export const OWNING_WORKFLOW_TYPES = ['volumeRecovery', 'volumeRebuild', 'peerDrop', 'serverRecovery', 'nodeFailover'] as const;

const VOLUME_WORK: { pattern: RegExp; rebuild: boolean; repair: boolean }[] = [
  { pattern: /^volume-recovery-(.+)-e(\d+)$/, rebuild: false, repair: false },
  { pattern: /^volume-rebuild-(.+)-e(\d+)$/, rebuild: true, repair: false },
  { pattern: /^volume-repair-(.+)-e(\d+)-\d+$/, rebuild: true, repair: true },
  { pattern: /^peer-drop-(.+)-e(\d+)$/, rebuild: false, repair: false },
];
const NODE_WORK = /^(?:server-recovery|node-failover)-(.+)-\d+$/;

/** What a running workflow works on, read off its id (each id ends in a fixed suffix, so the greedy match is exact). */
export function ownerOf(workflowId: string): (VolumeWork & { repair: boolean }) | { nodeId: string } | null {
  for (const { pattern, rebuild, repair } of VOLUME_WORK) {
    const m = pattern.exec(workflowId);
    if (m) return { volumeId: m[1]!, epoch: Number(m[2]), rebuild, repair };
  }
  const node = NODE_WORK.exec(workflowId)?.[1];
  return node === undefined ? null : { nodeId: node };
}

/** The volume and node a record's subject names. */
export function subjectOf(subject: string): { volumeId?: string; nodeId?: string } {
  if (subject.startsWith('volume:')) return { volumeId: subject.slice('volume:'.length) };
  if (subject.startsWith('node:')) return { nodeId: subject.slice('node:'.length) };
  const [volumeId, nodeId] = subject.slice('replica:'.length).split('@');
  return { volumeId, nodeId };
}
