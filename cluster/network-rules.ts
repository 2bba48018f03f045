// What each network fault does to the kernel (pure: rules and commands as text).
//
// Packet faults are nftables rules in one `bridge` family table per cluster, in the root
// namespace, on the forward hook: every packet between a node and anything else crosses its
// router's bridge from one port to another, so one chain sees both directions. A dropped packet
// vanishes in the "network": neither end's own stack reports an error, each sees silence and
// times out, as across a failed router. Link faults take a veth end down (carrier lost on both).
import { hostOf, routerNamed, type NetworkPlan } from './network-plan.js';

/** Which traffic of a node a cut drops. */
export type CutScope = 'control-plane' | 'peers' | 'everything';

export type PacketFault =
  /** `peers`: the other storage nodes (all of them unless `peers` names some). */
  | { kind: 'cut'; nodeId: string; scope: CutScope; peers?: string[] }
  /** Each packet to or from the node is dropped with this probability (each direction apart). */
  | { kind: 'loss'; nodeId: string; percent: number };

export type LinkFault = { kind: 'router'; router: string } | { kind: 'link'; nodeId: string };

/** The rules one packet fault adds to the forward chain. */
export function faultRules(plan: NetworkPlan, fault: PacketFault): string[] {
  const node = hostOf(plan, fault.nodeId).address;
  if (fault.kind === 'loss') {
    if (!(fault.percent > 0 && fault.percent <= 100)) throw new Error(`loss of ${fault.percent}% is not in (0, 100]`);
    const drop = `numgen random mod 100 < ${Math.round(fault.percent)} drop`;
    return [`ip saddr ${node} ${drop}`, `ip daddr ${node} ${drop}`];
  }
  if (fault.scope === 'everything') return [`ip saddr ${node} drop`, `ip daddr ${node} drop`];
  const others = fault.scope === 'control-plane' ? [plan.controlAddress] : peerAddresses(plan, fault.nodeId, fault.peers);
  if (others.length === 0) return [];
  const set = `{ ${others.join(', ')} }`;
  return [`ip saddr ${node} ip daddr ${set} drop`, `ip saddr ${set} ip daddr ${node} drop`];
}

function peerAddresses(plan: NetworkPlan, nodeId: string, peers?: string[]): string[] {
  const ids = peers ?? plan.hosts.map((h) => h.nodeId).filter((id) => id !== nodeId);
  return ids.map((id) => hostOf(plan, id).address);
}

/**
 * The whole table for the faults in force, as one `nft -f` transaction: the table is created
 * (so the delete cannot fail), deleted, and written anew; with no fault it is simply gone.
 */
export function nftRuleset(plan: NetworkPlan, faults: PacketFault[]): string {
  const table = `table bridge ${plan.prefix}`;
  const reset = `${table}\ndelete ${table}\n`;
  if (faults.length === 0) return reset;
  const rules = faults.flatMap((f) => faultRules(plan, f)).map((r) => `    ${r}\n`);
  return `${reset}${table} {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n${rules.join('')}  }\n}\n`;
}

/** The `ip` arguments that take a link fault's veth end down (`up: false`) or up again. */
export function linkCommand(plan: NetworkPlan, fault: LinkFault, up: boolean): string[] {
  const link = fault.kind === 'router' ? routerNamed(plan, fault.router).uplink : hostOf(plan, fault.nodeId).hostLink;
  return ['link', 'set', link, up ? 'up' : 'down'];
}
