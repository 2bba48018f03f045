// Placement: where a new volume's two copies go, and where a rebuilt or transferred copy goes.
// The power-domain rule is hard; free space spreads the copies; a farther domain wins among nodes
// within one volume's size of the most free space; ties go to a random node.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  placeAwayFrom,
  placeInOtherZone,
  placeReplicas,
  samePowerDomain,
  separation,
  type PlacementNode,
  type Random,
} from '../../common/rules/placement.js';

const arbNodes = fc
  .uniqueArray(
    fc.record({
      n: fc.integer({ min: 0, max: 30 }),
      power: fc.integer({ min: 0, max: 3 }),
      router: fc.integer({ min: 0, max: 1 }),
      free: fc.integer({ min: 0, max: 100 }),
    }),
    { selector: (x) => x.n, maxLength: 12 },
  )
  .map((xs): PlacementNode[] =>
    xs.map((x) => ({
      nodeId: `n${x.n}`,
      freeBytes: x.free,
      domain: { dc: 'dc1', zone: `z${x.router}`, router: `r${x.router}`, power: `p${x.power}`, host: `h${x.n}` },
    })),
  );

/** A random source fast-check controls: a draw per call from the given list, wrapping. */
const arbRandom = fc
  .array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 8 })
  .map((draws): Random => {
    let i = 0;
    return () => draws[i++ % draws.length]!;
  });

describe('placement of a new volume', () => {
  it('never puts both copies in one power domain, and finds a pair whenever one exists', () => {
    fc.assert(
      fc.property(arbNodes, fc.integer({ min: 1, max: 60 }), fc.option(arbRandom, { nil: undefined }), (nodes, size, random) => {
        const placed = placeReplicas(nodes, size, random);
        const fit = nodes.filter((n) => n.freeBytes >= size);
        const pairExists = fit.some((a) => fit.some((b) => !samePowerDomain(a.domain, b.domain)));
        expect(placed !== null).toBe(pairExists);
        if (!placed) return;
        const [p, s] = placed;
        expect(samePowerDomain(p.domain, s.domain)).toBe(false);
        expect(p.freeBytes).toBeGreaterThanOrEqual(size);
        expect(s.freeBytes).toBeGreaterThanOrEqual(size);
      }),
    );
  });

  it('puts the primary on a node with the most free space, and the secondary as far away as any node within one volume of the most free', () => {
    fc.assert(
      fc.property(arbNodes, fc.integer({ min: 1, max: 60 }), arbRandom, (nodes, size, random) => {
        const placed = placeReplicas(nodes, size, random);
        if (!placed) return;
        const [p, s] = placed;
        const fit = nodes.filter((n) => n.freeBytes >= size);
        expect(p.freeBytes).toBe(Math.max(...fit.map((n) => n.freeBytes)));
        const away = fit.filter((n) => n !== p && !samePowerDomain(n.domain, p.domain));
        const most = Math.max(...away.map((n) => n.freeBytes));
        expect(s.freeBytes).toBeGreaterThanOrEqual(most - size);
        const roomy = away.filter((n) => n.freeBytes >= most - size);
        const farthest = Math.max(...roomy.map((n) => separation(n.domain, p.domain)));
        expect(separation(s.domain, p.domain)).toBe(farthest);
        const equallyFar = roomy.filter((n) => separation(n.domain, p.domain) === farthest);
        expect(s.freeBytes).toBe(Math.max(...equallyFar.map((n) => n.freeBytes)));
      }),
    );
  });

  it('prefers another router among nodes with about as much room, but not a router that is fuller by more than the volume', () => {
    const node = (id: string, router: string, power: string, free: number): PlacementNode => ({
      nodeId: id,
      freeBytes: free,
      domain: { dc: 'dc1', zone: 'z1', router, power, host: id },
    });
    const near = placeReplicas([node('a', 'r1', 'p1', 100), node('b', 'r1', 'p2', 90), node('c', 'r2', 'p3', 88)], 5)!;
    expect(near.map((n) => n.nodeId)).toEqual(['a', 'c']);
    const full = placeReplicas([node('a', 'r1', 'p1', 100), node('b', 'r1', 'p2', 90), node('c', 'r2', 'p3', 10)], 5)!;
    expect(full.map((n) => n.nodeId)).toEqual(['a', 'b']);
  });

  it('breaks a tie at random, so that every tied node can be picked', () => {
    const nodes: PlacementNode[] = ['a', 'b', 'c', 'd'].map((id, i) => ({
      nodeId: id,
      freeBytes: 100,
      domain: { dc: 'dc1', zone: 'z1', router: 'r1', power: `p${i}`, host: id },
    }));
    const primaries = new Set([0, 0.3, 0.6, 0.99].map((draw) => placeReplicas(nodes, 10, () => draw)![0].nodeId));
    expect(primaries).toEqual(new Set(['a', 'b', 'c', 'd']));
    expect(placeReplicas(nodes, 10)!.map((n) => n.nodeId)).toEqual(['a', 'b']);
  });

  it('spreads copies placed one after another evenly when every power domain has as many nodes, however the routers split them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (powers, perPower, routers, seed) => {
          const nodes: PlacementNode[] = [];
          for (let p = 0; p < powers; p++)
            for (let k = 0; k < perPower; k++) {
              const router = `r${Math.min(p, routers - 1)}`;
              nodes.push({
                nodeId: `n${p}-${k}`,
                freeBytes: 1000,
                domain: { dc: 'dc1', zone: 'z1', router, power: `p${p}`, host: `h${p}-${k}` },
              });
            }
          let state = seed;
          const random: Random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
          const volumes = 10 * nodes.length;
          for (let v = 0; v < volumes; v++) {
            for (const n of placeReplicas(nodes, 1, random)!) n.freeBytes -= 1;
          }
          const copies = nodes.map((n) => 1000 - n.freeBytes);
          const mean = (2 * volumes) / nodes.length;
          expect(Math.max(...copies) / mean).toBeLessThanOrEqual(1.25);
          expect(Math.min(...copies)).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('placement of a rebuilt copy', () => {
  it('lands outside the source power domain, or nowhere', () => {
    fc.assert(
      fc.property(arbNodes, fc.integer({ min: 1, max: 60 }), arbRandom, (nodes, size, random) => {
        const from = nodes[0]?.domain ?? { dc: 'dc1', zone: 'z0', router: 'r0', power: 'p0', host: 'h' };
        const target = placeAwayFrom(from, nodes, size, random);
        const possible = nodes.some((n) => n.freeBytes >= size && !samePowerDomain(n.domain, from));
        expect(target === null).toBe(!possible);
        if (target) expect(samePowerDomain(target.domain, from)).toBe(false);
      }),
    );
  });
});

describe('transfer placement', () => {
  const node = (nodeId: string, zone: string, power: string, freeBytes = 100): PlacementNode => ({
    nodeId,
    freeBytes,
    domain: { dc: 'dc1', zone, router: `${zone}-r1`, power, host: nodeId },
  });

  it('always lands in another zone, or nowhere', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            zone: fc.constantFrom('z1', 'z2', 'z3'),
            power: fc.constantFrom('p1', 'p2'),
            free: fc.integer({ min: 0, max: 200 }),
          }),
          { maxLength: 8 },
        ),
        (specs) => {
          const nodes = specs.map((s, i) => node(`n${i}`, s.zone, `${s.zone}-${s.power}`, s.free));
          const from = node('src', 'z1', 'z1-p1').domain;
          const target = placeInOtherZone(from, nodes, 100);
          const possible = nodes.some((n) => n.domain.zone !== 'z1' && n.freeBytes >= 100);
          expect(target === null).toBe(!possible);
          if (target) expect(separation(target.domain, from)).toBeGreaterThanOrEqual(3);
        },
      ),
    );
  });
});
