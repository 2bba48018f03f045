// A primary cut off from its secondary asks to serve alone: who may, and when the fleet holds
// every such request back, stated as properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { failoverSurvivor } from '../../common/rules/failover.js';
import { isHealthy, isMember } from '../../common/rules/health.js';
import { holdsPeerDrops, peerDropRefusal, type PeerDropCopy } from '../../common/rules/peer-drop.js';
import {
  NODE_TRANSITIONS,
  REPLICA_TRANSITIONS,
  VOLUME_TRANSITIONS,
  type NodeState,
  type ReplicaState,
  type VolumeState,
} from '../../common/states.js';

const nodes = ['n1', 'n2', 'n3'] as const;
const arbCopy: fc.Arbitrary<PeerDropCopy> = fc.record({
  nodeId: fc.constantFrom(...nodes),
  role: fc.constantFrom('primary' as const, 'secondary' as const),
  state: fc.constantFrom(...(Object.keys(REPLICA_TRANSITIONS) as ReplicaState[])),
  nodeState: fc.constantFrom(...(Object.keys(NODE_TRANSITIONS) as NodeState[])),
  nodeFresh: fc.boolean(),
});
const arbCopies = fc.uniqueArray(arbCopy, { maxLength: 3, selector: (c) => c.nodeId });
const arbVolume = fc.option(
  fc.record({ state: fc.constantFrom(...(Object.keys(VOLUME_TRANSITIONS) as VolumeState[])), epoch: fc.integer({ min: 1, max: 3 }) }),
);
const arbRequest = fc.record({
  requester: fc.constantFrom(...nodes),
  peer: fc.constantFrom(...nodes),
  epoch: fc.integer({ min: 1, max: 3 }),
});

const healthy = (nodeId: string, role: 'primary' | 'secondary'): PeerDropCopy => ({
  nodeId,
  role,
  state: 'in-service',
  nodeState: 'in-service',
  nodeFresh: true,
});

describe('a primary asking to drop its unreachable secondary', () => {
  it('is allowed only as the healthy primary at the current epoch, against a member secondary', () => {
    fc.assert(
      fc.property(arbRequest, arbVolume, arbCopies, (req, volume, copies) => {
        if (peerDropRefusal(req, volume, copies) !== null) return;
        const self = copies.find((c) => c.nodeId === req.requester)!;
        const peer = copies.find((c) => c.nodeId === req.peer)!;
        expect(volume!.epoch).toBe(req.epoch);
        expect(['deleted', 'deleting']).not.toContain(volume!.state);
        expect(self.role === 'primary' && isHealthy(self)).toBe(true);
        expect(peer.role === 'secondary' && isMember(peer)).toBe(true);
        expect(req.peer).not.toBe(req.requester);
      }),
    );
  });

  it('when allowed, leaves a healthy member to serve alone: the failover away from the peer finds a survivor', () => {
    fc.assert(
      fc.property(arbRequest, arbVolume, arbCopies, (req, volume, copies) => {
        if (peerDropRefusal(req, volume, copies) !== null) return;
        expect(failoverSurvivor(copies, req.peer)).not.toBeNull();
      }),
    );
  });

  it('is refused to a primary the control plane has not heard from: a copy cut off from it may not serve alone', () => {
    const volume = { state: 'in-use' as const, epoch: 4 };
    const req = { requester: 'n1', peer: 'n2', epoch: 4 };
    expect(peerDropRefusal(req, volume, [healthy('n1', 'primary'), healthy('n2', 'secondary')])).toBeNull();
    for (const stale of [{ nodeFresh: false }, { nodeState: 'down' as const }, { nodeState: 'recovering' as const }]) {
      expect(peerDropRefusal(req, volume, [{ ...healthy('n1', 'primary'), ...stale }, healthy('n2', 'secondary')])).toBe(
        'not-serving-primary',
      );
    }
  });

  it('is refused at an older epoch: the volume has moved on, and the requester is fenced', () => {
    const copies = [healthy('n1', 'primary'), healthy('n2', 'secondary')];
    expect(peerDropRefusal({ requester: 'n1', peer: 'n2', epoch: 3 }, { state: 'in-use', epoch: 4 }, copies)).toBe('stale-epoch');
  });

  it('is refused by a secondary, and against a copy that already left', () => {
    const volume = { state: 'in-use' as const, epoch: 1 };
    const copies = [healthy('n1', 'primary'), healthy('n2', 'secondary')];
    expect(peerDropRefusal({ requester: 'n2', peer: 'n1', epoch: 1 }, volume, copies)).toBe('not-serving-primary');
    const gone = [healthy('n1', 'primary'), { ...healthy('n2', 'secondary'), state: 'stale' as const }];
    expect(peerDropRefusal({ requester: 'n1', peer: 'n2', epoch: 1 }, volume, gone)).toBe('peer-not-secondary');
  });
});

describe('the mass-outage breaker for peer drops', () => {
  const ids = fc.uniqueArray(fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `n${i}`)), { maxLength: 12 });

  it('holds exactly when the distinct unreachable nodes (silent, down or accused) pass the share', () => {
    fc.assert(
      fc.property(ids, ids, ids, fc.double({ min: 0, max: 1, noNaN: true }), (suspects, down, accused, share) => {
        const distinct = new Set([...suspects, ...down, ...accused]).size;
        expect(holdsPeerDrops({ suspects, down, accused, total: 12 }, share)).toBe(distinct > share * 12);
      }),
    );
  });

  it('lets one cut-off pair through, and holds when a router of a third of the fleet is accused', () => {
    expect(holdsPeerDrops({ suspects: [], down: [], accused: ['n2'], total: 30 }, 1 / 3)).toBe(false);
    const router = Array.from({ length: 11 }, (_, i) => `r${i}`);
    expect(holdsPeerDrops({ suspects: router.slice(0, 4), down: [], accused: router, total: 30 }, 1 / 3)).toBe(true);
  });
});
