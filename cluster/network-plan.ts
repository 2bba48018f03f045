// The address and name plan of a cluster's network hosts (pure: no `ip` command runs here).
//
// Cluster slot i (0..63) owns 10.(64+i).0.0/16 and every link, bridge and namespace named
// `bs<i>-…`, so clusters of parallel test files never share an address or a name. The control
// plane (API, worker; Temporal and Postgres stay on loopback) has 10.S.0.1 on the core bridge;
// each router domain is a bridge joined to the core by a veth pair (its uplink); each storage
// node is a namespace with one veth into its router's bridge and the address 10.S.<router>.<10+k>.
// All of it is one /16 on one layer-2 segment: nothing is routed, so the host's ip_forward and
// firewall are left as they are.
import type { NodeSpec } from './local-cluster.js';

export const MAX_SLOTS = 64;
/** Linux interface names hold at most 15 bytes (IFNAMSIZ 16 with the NUL). */
export const IFNAMSIZ_MAX = 15;
const FIRST_HOST_OCTET = 10;
const MAX_HOST_OCTET = 254;

export interface RouterPlan {
  /** 'dc/zone/router': the failure-domain path of the router. */
  path: string;
  /** The router's name in that path, as `nodesIn('router', name)` takes it. */
  name: string;
  bridge: string;
  /** The core side of the router's veth pair: taking it down cuts the router from everything. */
  uplink: string;
  downlink: string;
}

export interface HostPlan {
  nodeId: string;
  routerPath: string;
  namespace: string;
  /** The root-namespace end of the node's veth pair, on its router's bridge. */
  hostLink: string;
  /** The end inside the namespace. */
  nodeLink: string;
  address: string;
}

export interface NetworkPlan {
  slot: number;
  /** Every name of this cluster starts with `${prefix}-`; its nftables table is named `prefix`. */
  prefix: string;
  subnet: string;
  prefixLength: 16;
  controlAddress: string;
  core: string;
  routers: RouterPlan[];
  hosts: HostPlan[];
}

export function prefixOf(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) throw new Error(`network slot ${slot} is outside 0..${MAX_SLOTS - 1}`);
  return `bs${slot}`;
}

export function planNetwork(slot: number, nodes: NodeSpec[]): NetworkPlan {
  const prefix = prefixOf(slot);
  const net = `10.${64 + slot}`;
  const routerPaths = [...new Set(nodes.map((n) => routerPathOf(n.domainPath)))];
  if (routerPaths.length > 250) throw new Error(`${routerPaths.length} routers: at most 250 fit one cluster's /16`);
  const routers = routerPaths.map((path, i) => ({
    path,
    name: path.split('/')[2]!,
    bridge: linkName(prefix, `r${i + 1}`),
    uplink: linkName(prefix, `u${i + 1}`),
    downlink: linkName(prefix, `d${i + 1}`),
  }));
  const perRouter = new Map<string, number>();
  const hosts = nodes.map((n, j) => {
    const routerPath = routerPathOf(n.domainPath);
    const k = perRouter.get(routerPath) ?? 0;
    perRouter.set(routerPath, k + 1);
    if (FIRST_HOST_OCTET + k > MAX_HOST_OCTET) throw new Error(`router ${routerPath} has more nodes than one /24 holds`);
    return {
      nodeId: n.nodeId,
      routerPath,
      namespace: linkName(prefix, `n${j + 1}`),
      hostLink: linkName(prefix, `h${j + 1}`),
      nodeLink: linkName(prefix, `e${j + 1}`),
      address: `${net}.${routerPaths.indexOf(routerPath) + 1}.${FIRST_HOST_OCTET + k}`,
    };
  });
  return {
    slot,
    prefix,
    subnet: `${net}.0.0/16`,
    prefixLength: 16,
    controlAddress: `${net}.0.1`,
    core: linkName(prefix, 'core'),
    routers,
    hosts,
  };
}

/** 'dc1/az1/r1/p1/h1' → 'dc1/az1/r1'. */
export function routerPathOf(domainPath: string): string {
  const parts = domainPath.split('/');
  if (parts.length < 3) throw new Error(`domain path ${domainPath} names no router`);
  return parts.slice(0, 3).join('/');
}

function linkName(prefix: string, suffix: string): string {
  const name = `${prefix}-${suffix}`;
  if (name.length > IFNAMSIZ_MAX) throw new Error(`link name ${name} is longer than ${IFNAMSIZ_MAX} bytes`);
  return name;
}

export function hostOf(plan: NetworkPlan, nodeId: string): HostPlan {
  const host = plan.hosts.find((h) => h.nodeId === nodeId);
  if (!host) throw new Error(`node ${nodeId} has no network host`);
  return host;
}

export function routerNamed(plan: NetworkPlan, name: string): RouterPlan {
  const matches = plan.routers.filter((r) => r.name === name || r.path === name);
  if (matches.length !== 1) throw new Error(`${matches.length} routers named ${name}`);
  return matches[0]!;
}

/** The `ip` commands that build the plan, in order (each an argument list for `ip`). */
export function setupCommands(plan: NetworkPlan): string[][] {
  const cidr = (address: string) => `${address}/${plan.prefixLength}`;
  const bridge = (name: string) => ['link', 'add', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0'];
  const commands = [bridge(plan.core), ['addr', 'add', cidr(plan.controlAddress), 'dev', plan.core], ['link', 'set', plan.core, 'up']];
  for (const r of plan.routers) {
    commands.push(
      bridge(r.bridge),
      ['link', 'set', r.bridge, 'up'],
      ['link', 'add', r.uplink, 'type', 'veth', 'peer', 'name', r.downlink],
      ['link', 'set', r.uplink, 'master', plan.core, 'up'],
      ['link', 'set', r.downlink, 'master', r.bridge, 'up'],
    );
  }
  for (const h of plan.hosts) {
    const bridgeOf = plan.routers.find((r) => r.path === h.routerPath)!.bridge;
    commands.push(
      ['netns', 'add', h.namespace],
      ['link', 'add', h.hostLink, 'type', 'veth', 'peer', 'name', h.nodeLink, 'netns', h.namespace],
      ['-n', h.namespace, 'addr', 'add', cidr(h.address), 'dev', h.nodeLink],
      ['-n', h.namespace, 'link', 'set', h.nodeLink, 'up'],
      ['-n', h.namespace, 'link', 'set', 'lo', 'up'],
      ['link', 'set', h.hostLink, 'master', bridgeOf, 'up'],
    );
  }
  return commands;
}

/**
 * Everything of a prefix that exists, to delete: given the names `ip -o link` and `ip netns`
 * list. Deleting one end of a veth pair deletes the other, so only root-side ends are named.
 */
export function leftoverCommands(prefix: string, links: string[], namespaces: string[]): string[][] {
  const mine = (name: string) => name.startsWith(`${prefix}-`);
  const rootSide = (name: string) => !/-[de]\d+$/.test(name);
  return [
    ...namespaces.filter(mine).map((ns) => ['netns', 'del', ns]),
    ...links
      .filter(mine)
      .filter(rootSide)
      .map((l) => ['link', 'del', l]),
  ];
}

/** Link names from `ip -o link show` ("12: bs3-h1@if11: <…"). */
export function parseLinkNames(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((n): n is string => !!n);
}

/** Namespace names from `ip netns list` ("bs3-n1 (id: 4)"). */
export function parseNamespaces(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((n): n is string => !!n);
}
