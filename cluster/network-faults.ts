// Network faults on a cluster's hosts, each reversible: an action returns its heal, and
// healAll() (run by the teardown) ends whatever is still in force, flapping included.
import { ip, nft } from './network-exec.js';
import type { NetworkPlan } from './network-plan.js';
import { linkCommand, nftRuleset, type CutScope, type LinkFault, type PacketFault } from './network-rules.js';

export type Heal = () => Promise<void>;

export interface FlapOptions {
  downMs: number;
  upMs: number;
}

export class NetworkFaults {
  private readonly packetFaults = new Set<PacketFault>();
  private readonly heals = new Set<Heal>();
  /** nft transactions one at a time, so the table always matches the set. */
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly plan: NetworkPlan) {}

  /** Drops the node's traffic with the control plane (API, worker), or its peers, or everything, both ways. */
  cut(nodeId: string, scope: CutScope, peers?: string[]): Promise<Heal> {
    return this.addPacketFault({ kind: 'cut', nodeId, scope, peers });
  }

  /** Drops `percent`% of the node's packets in each direction, at random. */
  loss(nodeId: string, percent: number): Promise<Heal> {
    return this.addPacketFault({ kind: 'loss', nodeId, percent });
  }

  /** The router's uplink to the core goes down: its nodes reach only each other. */
  cutRouter(router: string): Promise<Heal> {
    return this.linkDown({ kind: 'router', router });
  }

  /** The node's own link goes down and up again, on and on, until healed; healing leaves it up. */
  flap(nodeId: string, opts: FlapOptions): Heal {
    const fault: LinkFault = { kind: 'link', nodeId };
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        await ip(linkCommand(this.plan, fault, false));
        await sleepUnless(() => stopped, opts.downMs);
        await ip(linkCommand(this.plan, fault, true));
        await sleepUnless(() => stopped, opts.upMs);
      }
    })();
    return this.track(async () => {
      stopped = true;
      await loop.catch(() => undefined);
      await ip(linkCommand(this.plan, fault, true));
    });
  }

  async healAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const heal of [...this.heals]) await heal().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  private async addPacketFault(fault: PacketFault): Promise<Heal> {
    this.packetFaults.add(fault);
    await this.applyRules();
    return this.track(async () => {
      this.packetFaults.delete(fault);
      await this.applyRules();
    });
  }

  private async linkDown(fault: LinkFault): Promise<Heal> {
    await ip(linkCommand(this.plan, fault, false));
    return this.track(() => ip(linkCommand(this.plan, fault, true)).then(() => undefined));
  }

  private applyRules(): Promise<void> {
    const next = this.applying.then(() => nft(nftRuleset(this.plan, [...this.packetFaults])));
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** A heal runs at most once, and is forgotten once it has run. */
  private track(heal: Heal): Heal {
    let done: Promise<void> | null = null;
    const once: Heal = () => {
      done ??= heal().finally(() => this.heals.delete(once));
      return done;
    };
    this.heals.add(once);
    return once;
  }
}

function sleepUnless(stop: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = setInterval(
      () => {
        if (stop() || Date.now() - started >= ms) {
          clearInterval(tick);
          resolve();
        }
      },
      Math.min(50, ms),
    );
  });
}
