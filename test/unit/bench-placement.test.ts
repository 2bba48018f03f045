// The placement benchmark's figures from the copies the inventory holds.
import { describe, expect, it } from 'vitest';
import { spread } from '../../bench/placement.js';

const topology = [
  { nodeId: 'a', domainPath: 'dc1/z1/r1/p1/a' },
  { nodeId: 'b', domainPath: 'dc1/z1/r1/p2/b' },
  { nodeId: 'c', domainPath: 'dc1/z1/r2/p3/c' },
  { nodeId: 'd', domainPath: 'dc1/z1/r2/p4/d' },
];

describe('placement spread', () => {
  it('counts every node of the topology, used or not, and the volumes whose copies sit behind two routers', () => {
    const copies = [
      { volume_id: 'v1', node_id: 'a' },
      { volume_id: 'v1', node_id: 'c' },
      { volume_id: 'v2', node_id: 'a' },
      { volume_id: 'v2', node_id: 'b' },
    ];
    expect(spread(topology, copies)).toEqual({
      copies: 4,
      maxOverMeanCopies: 2,
      minOverMeanCopies: 0,
      nodesUnused: 1,
      volumesAcrossRouters: 0.5,
    });
  });
});
