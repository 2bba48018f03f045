// Where a volume's copies go. The failure-domain rule is hard: two copies never share a power
// domain. Inside it, free space spreads the copies, and a farther domain (another router, zone or
// data center) is preferred among nodes within one volume's size of the most free space, so that
// a small router is not handed every secondary. Ties go to a random node (`random`; by node id
// without one), so that concurrent creates do not all pick the same pair.
import type { FailureDomain } from '../types.js';

export interface PlacementNode {
  nodeId: string;
  domain: FailureDomain;
  freeBytes: number;
}

/** A uniform draw in [0, 1), as Math.random. */
export type Random = () => number;

/**
 * Picks a primary (the most free space) and a secondary in another power domain (see the file's
 * head). Returns null when no two power domains have room.
 */
export function placeReplicas(nodes: PlacementNode[], sizeBytes: number, random?: Random): [PlacementNode, PlacementNode] | null {
  const fit = nodes.filter((n) => n.freeBytes >= sizeBytes);
  const primary = pick(fit, moreFree, random);
  if (!primary) return null;
  const secondary = placeAwayFrom(
    primary.domain,
    fit.filter((n) => n !== primary),
    sizeBytes,
    random,
  );
  return secondary ? [primary, secondary] : null;
}

/**
 * A node for a copy that must not share a power domain with `from`: among those within one
 * volume's size of the most free space, the farthest from `from`, then the most free.
 */
export function placeAwayFrom(from: FailureDomain, nodes: PlacementNode[], sizeBytes: number, random?: Random): PlacementNode | null {
  const options = nodes.filter((n) => n.freeBytes >= sizeBytes && !samePowerDomain(n.domain, from));
  const most = Math.max(...options.map((n) => n.freeBytes));
  const roomy = options.filter((n) => n.freeBytes >= most - sizeBytes);
  return pick(roomy, (a, b) => separation(b.domain, from) - separation(a.domain, from) || moreFree(a, b), random);
}

/** A transfer's destination: a node in another zone (or data center) than `from`. */
export function placeInOtherZone(from: FailureDomain, nodes: PlacementNode[], sizeBytes: number, random?: Random): PlacementNode | null {
  return placeAwayFrom(
    from,
    nodes.filter((n) => separation(n.domain, from) >= 3),
    sizeBytes,
    random,
  );
}

/** The best of `options` by `compare`; among those tied with it, one at random (the first by id without `random`). */
function pick<T extends PlacementNode>(options: T[], compare: (a: T, b: T) => number, random?: Random): T | null {
  const sorted = [...options].sort((a, b) => compare(a, b) || (a.nodeId < b.nodeId ? -1 : 1));
  const tied = sorted.filter((n) => compare(n, sorted[0]!) === 0);
  if (tied.length === 0) return null;
  return tied[random ? Math.min(tied.length - 1, Math.floor(random() * tied.length)) : 0]!;
}

function moreFree(a: PlacementNode, b: PlacementNode): number {
  return b.freeBytes - a.freeBytes;
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
