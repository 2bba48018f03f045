// Lands a compound scenario's faults one after another, each when the state it waits for is
// seen (bounded by TRIGGER_TIMEOUT_MS: a fault whose state never arises is skipped and noted).
// Node returns, a process crash's restart and a network fault's heal run on in the background,
// so every later fault lands while the earlier recoveries are still open.
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { ChaosCluster } from './cluster.js';
import type { CompoundFault, NodeScope } from './compound-scenario.js';
import { crashMidRecovery, sleep, type Copies } from './faults.js';
import { inflictNetworkFault } from './network.js';
import type { Role } from './scenario.js';
import { recoveryBegan, WATCHERS, type WatchContext } from './triggers.js';

/** How long a fault waits for its state before it is skipped. */
export const TRIGGER_TIMEOUT_MS = 45_000;
const POLL_MS = 100;

export interface LandedFault {
  kind: CompoundFault['kind'];
  /** False when the state it waits for never arose (or no node was there to take down). */
  landed: boolean;
  nodes: string[];
  /** Seconds since the scenario's first fault. */
  atSeconds: number;
  note: string;
}

/**
 * SIGKILLs of nodes, each returning after its delay unless a later fault took it down again
 * meanwhile (then that fault's return brings it back).
 */
export class NodeKills {
  private readonly generation = new Map<string, number>();
  /** Every node taken down, and when it went down last. */
  readonly lastDown = new Map<string, Date>();
  private readonly returns: Promise<void>[] = [];

  constructor(private readonly cluster: LocalCluster) {}

  /** Takes the nodes down; resolves once they are (their returns go on in the background). */
  async down(nodes: string[], delayMs: (i: number) => number): Promise<void> {
    const mine = nodes.map((n) => {
      const g = (this.generation.get(n) ?? 0) + 1;
      this.generation.set(n, g);
      this.lastDown.set(n, new Date());
      return g;
    });
    await Promise.all(nodes.map((n) => this.cluster.killNode(n)));
    const back = Promise.all(
      nodes.map(async (n, i) => {
        await sleep(delayMs(i));
        if (this.generation.get(n) === mine[i]) await this.cluster.startNode(n).catch(() => undefined); // taken down while booting: allBack retries
      }),
    ).then(() => undefined);
    this.returns.push(back);
  }

  /** Waits for every scheduled return, then starts any node still down. */
  async allBack(): Promise<void> {
    await Promise.all(this.returns);
    for (const n of this.lastDown.keys()) await this.cluster.startNode(n);
  }
}

export interface FaultRunnerHooks {
  /** Called once, right after the first fault took its nodes down. */
  afterFirstDown: () => void;
}

export class FaultRunner {
  /** A process crash in progress: its process is down on purpose. */
  crashing = 0;
  private readonly tails: Promise<unknown>[] = [];
  private crashes: Promise<void> = Promise.resolve();
  /** Process crashes so far: which API or worker the next one kills (each in turn). */
  private crashCount = 0;
  private readonly started = Date.now();
  private firstDown = false;

  constructor(
    private readonly watch: WatchContext,
    readonly kills: NodeKills,
    private readonly target: string,
    private readonly hooks: FaultRunnerHooks,
  ) {}

  private get cluster(): LocalCluster {
    return this.watch.c.cluster;
  }

  async land(f: CompoundFault): Promise<LandedFault> {
    const record = (landed: boolean, nodes: string[], note: string): LandedFault => ({
      kind: f.kind,
      landed,
      nodes,
      atSeconds: Math.round((Date.now() - this.started) / 100) / 10,
      note,
    });
    switch (f.kind) {
      case 'outage': {
        const nodes = await this.nodesIn(f.scope, f.role);
        if (!nodes.length) return record(false, [], 'the target has no copy left to take down');
        await this.down(nodes, (i) => f.returnDelaysMs[i % f.returnDelaysMs.length]!);
        return record(true, nodes, `${nodes.length} node(s) down`);
      }
      case 'flicker':
        return this.flicker(f, record);
      case 'process-crash': {
        // One crash at a time: a second kill of a process already down would be no fault, and its restart would race the first's.
        const crash = this.crashes.then(async () => {
          this.crashing++;
          await crashMidRecovery(this.cluster, f.crash, this.crashCount++).finally(() => this.crashing--);
        });
        this.crashes = crash.catch(() => undefined);
        this.background(crash);
        return record(true, [], `${f.crash.process} to be killed ${f.crash.afterMs} ms after any crash before it`);
      }
      case 'network': {
        await sleep(f.afterMs);
        const copies = await this.copies();
        if (!copies[f.network.role]) return record(false, [], `the target has no ${f.network.role} copy`);
        this.background(inflictNetworkFault(this.cluster, f.network, copies as Copies));
        return record(true, [copies[f.network.role]!], 'network fault in force');
      }
      default: {
        const target = await this.until(() => WATCHERS[f.kind](this.watch));
        if (!target) return record(false, [], `not seen within ${TRIGGER_TIMEOUT_MS / 1000} s`);
        await sleep(f.afterMs);
        await this.down([target.nodeId], () => f.downMs);
        return record(true, [target.nodeId], target.seen);
      }
    }
  }

  /** Down, back after `firstDownMs`, down again `againAfterMs` after a recovery of one of them began. */
  private async flicker(
    f: Extract<CompoundFault, { kind: 'flicker' }>,
    record: (landed: boolean, nodes: string[], note: string) => LandedFault,
  ): Promise<LandedFault> {
    await sleep(f.afterMs);
    const nodes = await this.nodesIn(f.scope, f.role);
    if (!nodes.length) return record(false, [], 'the target has no copy left to take down');
    const downAt = new Date();
    await this.down(nodes, () => f.firstDownMs);
    await sleep(f.firstDownMs);
    const began = await this.until(async () => (await recoveryBegan(this.watch.c, nodes, downAt)) || null);
    if (!began) return record(false, nodes, `down once; no recovery began within ${TRIGGER_TIMEOUT_MS / 1000} s of the return`);
    await sleep(f.againAfterMs);
    await this.down(nodes, () => f.secondDownMs);
    return record(true, nodes, `${nodes.length} node(s) down twice`);
  }

  private async down(nodes: string[], delayMs: (i: number) => number): Promise<void> {
    await this.kills.down(nodes, delayMs);
    if (!this.firstDown) {
      this.firstDown = true;
      this.hooks.afterFirstDown();
    }
  }

  /** Everything a fault left running: the returns, a crashed process's restart, a network fault's heal. */
  async finish(): Promise<void> {
    await Promise.all(this.tails);
    await this.kills.allBack();
  }

  private background(p: Promise<unknown>): void {
    this.tails.push(p);
  }

  /** Polls `check` until it answers, or TRIGGER_TIMEOUT_MS passed (null). A check that throws (a process down) is asked again. */
  private async until<T>(check: () => Promise<T | null>): Promise<T | null> {
    const deadline = Date.now() + TRIGGER_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const found = await check().catch(() => null);
      if (found) return found;
      await sleep(POLL_MS);
    }
    return null;
  }

  /** The target's copies by role, in any member state (a fault may land mid-recovery). */
  private async copies(): Promise<Partial<Copies>> {
    const { rows } = await this.watch.c.db.query<{ node_id: string; role: Role }>(
      `select node_id, role from replicas where volume_id = $1 and state in ('in-service', 'recovering', 'candidate', 'restored', 'rebuilding')
       order by state = 'in-service' desc`,
      [this.target],
    );
    const of = (role: Role) => rows.find((r) => r.role === role)?.node_id;
    return { primary: of('primary'), secondary: of('secondary') };
  }

  private async nodesIn(scope: NodeScope, role: Role): Promise<string[]> {
    if (scope === 'dc') return [...this.cluster.nodes.keys()].sort();
    const copies = await this.copies();
    if (scope === 'both') return [copies.primary, copies.secondary].filter((n): n is string => !!n);
    const node = copies[role] ?? copies.primary ?? copies.secondary;
    if (!node) return [];
    if (scope !== 'power-domain') return [node];
    const power = this.cluster.opts.nodes.find((n) => n.nodeId === node)!.domainPath.split('/')[3]!;
    return this.cluster.nodesIn('power', power).sort();
  }
}
