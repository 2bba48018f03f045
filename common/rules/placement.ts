import type { FailureDomain } from '../types.js';

export interface PlacementNode {
  nodeId: string;
  domain: FailureDomain;
  freeBytes: number;
}

/**
 * Picks a primary and a secondary in different power domains, preferring different routers,
 * then zones; among equals, the most free space. Returns null when no two power domains fit.
 */
export function placeReplicas(nodes: PlacementNode[], sizeBytes: number): [PlacementNode, PlacementNode] | null {
  const fit = nodes.filter((n) => n.freeBytes >= sizeBytes).sort(byFreeSpace);
  const primary = fit[0];
  if (!primary) return null;
  const secondary = placeAwayFrom(primary.domain, fit.slice(1), sizeBytes);
  return secondary ? [primary, secondary] : null;
}

/** The best node for a copy that must not share a power domain with `from`. */
export function placeAwayFrom(from: FailureDomain, nodes: PlacementNode[], sizeBytes: number): PlacementNode | null {
  const options = nodes
    .filter((n) => n.freeBytes >= sizeBytes && !samePowerDomain(n.domain, from))
    .sort((a, b) => separation(b.domain, from) - separation(a.domain, from) || byFreeSpace(a, b));
  return options[0] ?? null;
}

/** A transfer's destination: a node in another zone (or data center) than `from`. */
export function placeInOtherZone(from: FailureDomain, nodes: PlacementNode[], sizeBytes: number): PlacementNode | null {
  return placeAwayFrom(
    from,
    nodes.filter((n) => separation(n.domain, from) >= 3),
    sizeBytes,
  );
}

function byFreeSpace(a: PlacementNode, b: PlacementNode): number {
  return b.freeBytes - a.freeBytes || (a.nodeId < b.nodeId ? -1 : 1);
}

export function samePowerDomain(a: FailureDomain, b: FailureDomain): boolean {
  return a.dc === b.dc && a.zone === b.zone && a.router === b.router && a.power === b.power;
}

/** 0 = same power domain, 1 = same router, 2 = same zone, 3 = same dc, 4 = different dc. */
export function separation(a: FailureDomain, b: FailureDomain): number {
  if (a.dc !== b.dc) return 4;
  if (a.zone !== b.zone) return 3;
  if (a.router !== b.router) return 2;
  if (a.power !== b.power) return 1;
  return 0;
}
