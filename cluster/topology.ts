import type { NodeSpec } from './local-cluster.js';

/**
 * The default local fleet: one data center, two zones, a router each, two power domains per
 * router, and `count` nodes dealt round-robin over the four power domains.
 */
export function defaultTopology(count = 6): NodeSpec[] {
  const powers = ['az1/r1/p1', 'az1/r1/p2', 'az2/r2/p3', 'az2/r2/p4'];
  return Array.from({ length: count }, (_, i) => ({
    nodeId: `node-${i + 1}`,
    domainPath: `dc1/${powers[i % powers.length]}/h${i + 1}`,
  }));
}
