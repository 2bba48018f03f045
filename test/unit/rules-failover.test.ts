// Replica health, the failover rules (survivor, incident, the node's refusal, the mass-outage
// breaker) and the admission bound, stated as properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admitsRecovery } from '../../common/rules/admission.js';
import {
  answersForItself,
  probeVerdict,
  configureRefusal,
  failoverSurvivor,
  holdsFailover,
  massOutageHold,
  volumeIncidentIsCurrent,
} from '../../common/rules/failover.js';
import { isHealthy, isMember } from '../../common/rules/health.js';
import {
  MEMBER_STATES,
  NODE_TRANSITIONS,
  REPLICA_TRANSITIONS,
  VOLUME_TRANSITIONS,
  type NodeState,
  type ReplicaState,
  type VolumeState,
} from '../../common/states.js';
import type { ReplicaRole } from '../../common/types.js';

const replicaStates = Object.keys(REPLICA_TRANSITIONS) as ReplicaState[];
const nodeStates = Object.keys(NODE_TRANSITIONS) as NodeState[];
const arbCopy = fc.record({
  nodeId: fc.constantFrom('n1', 'n2', 'n3', 'n4'),
  state: fc.constantFrom(...replicaStates),
  nodeState: fc.constantFrom(...nodeStates),
  nodeFresh: fc.boolean(),
  role: fc.constantFrom<ReplicaRole>('primary', 'secondary'),
});
const arbCopies = fc.uniqueArray(arbCopy, { maxLength: 4, selector: (c) => c.nodeId });
const arbVolume = fc.option(
  fc.record({ state: fc.constantFrom(...(Object.keys(VOLUME_TRANSITIONS) as VolumeState[])), epoch: fc.integer({ min: 1, max: 3 }) }),
);

describe('replica health', () => {
  it('is serving on a fresh node in service, and only a member is ever healthy', () => {
    fc.assert(
      fc.property(arbCopy, (c) => {
        expect(isMember(c)).toBe(MEMBER_STATES.includes(c.state));
        expect(isHealthy(c)).toBe(c.state === 'in-service' && c.nodeState === 'in-service' && c.nodeFresh);
        if (isHealthy(c)) expect(isMember(c)).toBe(true);
      }),
    );
  });
});

describe('failover survivor', () => {
  it('is a healthy member on another node, found whenever the leaving copy is a member and one exists', () => {
    fc.assert(
      fc.property(arbCopies, fc.constantFrom('n1', 'n2', 'n3', 'n4'), (copies, leaving) => {
        const survivor = failoverSurvivor(copies, leaving);
        const self = copies.find((c) => c.nodeId === leaving);
        const possible = !!self && isMember(self) && copies.some((c) => c.nodeId !== leaving && isMember(c) && isHealthy(c));
        expect(survivor !== null).toBe(possible);
        if (survivor) {
          expect(survivor.nodeId).not.toBe(leaving);
          expect(isMember(survivor) && isHealthy(survivor)).toBe(true);
        }
      }),
    );
  });
});

describe('volume incident', () => {
  it('is current only for a live volume at its epoch that no member primary serves', () => {
    fc.assert(
      fc.property(arbVolume, fc.integer({ min: 1, max: 3 }), arbCopies, (volume, epoch, copies) => {
        const serving = copies.some((c) => c.role === 'primary' && isMember(c) && isHealthy(c));
        expect(volumeIncidentIsCurrent(volume, epoch, copies)).toBe(
          !!volume && volume.state !== 'deleted' && volume.epoch === epoch && !serving,
        );
      }),
    );
  });

  it('is overtaken whenever a failover could find a survivor that serves as primary', () => {
    fc.assert(
      fc.property(arbVolume, arbCopies, fc.constantFrom('n1', 'n2'), (volume, copies, leaving) => {
        if (failoverSurvivor(copies, leaving)?.role === 'primary') {
          expect(volumeIncidentIsCurrent(volume, volume?.epoch ?? 1, copies)).toBe(false);
        }
      }),
    );
  });

  it('stays current while only a secondary serves: its primary may be the copy under recovery', () => {
    const copies = [
      { nodeId: 'n1', role: 'primary' as const, state: 'candidate' as const, nodeState: 'in-service' as const, nodeFresh: true },
      { nodeId: 'n2', role: 'secondary' as const, state: 'in-service' as const, nodeState: 'in-service' as const, nodeFresh: true },
    ];
    expect(volumeIncidentIsCurrent({ state: 'available', epoch: 2 }, 2, copies)).toBe(true);
  });
});

describe("the node's refusal to configure", () => {
  const arbView = fc.record({
    nodeRecovering: fc.boolean(),
    failover: fc.boolean(),
    scanned: fc.boolean(),
    copy: fc.option(
      fc.record({
        ioState: fc.constantFrom('enabled', 'paused' as const),
        mode: fc.constantFrom('normal', 'restored', 'rebuilding' as const),
      }),
      { nil: undefined },
    ),
  });

  it('refuses everything on a recovering node, and a failover of any copy held for recovery', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const refusal = configureRefusal(v);
        if (v.nodeRecovering) expect(refusal).toBe('node-recovering');
        else if (!v.failover) expect(refusal).toBeNull();
        else expect(refusal === null).toBe(!v.scanned && v.copy?.ioState === 'enabled' && v.copy.mode === 'normal');
      }),
    );
  });
});

describe('mass-outage breaker', () => {
  it('holds more as more nodes are unreachable, and never for one node while the share covers one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.nat(200),
        fc.nat(200),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (total, a, b, share) => {
          const [few, many] = a <= b ? [a, b] : [b, a];
          if (holdsFailover({ suspects: few, down: 0, total }, share))
            expect(holdsFailover({ suspects: many, down: 0, total }, share)).toBe(true);
          expect(holdsFailover({ suspects: few, down: many, total }, share)).toBe(
            holdsFailover({ suspects: many, down: few, total }, share),
          );
          if (share * total >= 1) expect(holdsFailover({ suspects: 1, down: 0, total }, share)).toBe(false);
        },
      ),
    );
  });
});

describe('admission bound', () => {
  it('never lets more than the bound recover at once, and admits while below it', () => {
    fc.assert(
      fc.property(fc.nat(10), fc.array(fc.boolean(), { maxLength: 60 }), (max, arrivals) => {
        let recovering = 0;
        for (const arrives of arrivals) {
          if (!arrives) recovering = Math.max(0, recovering - 1);
          else if (admitsRecovery(recovering, max)) recovering++;
          else expect(recovering).toBe(max);
          expect(recovering).toBeLessThanOrEqual(max);
        }
      }),
    );
  });
});

describe('the mass-outage hold-down', () => {
  const arbHold = fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null });

  it('holds whenever tripped, and then for the cool-down after the outage stops showing — never longer', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        arbHold,
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        (tripped, until, now, cool) => {
          const next = massOutageHold(tripped, until, now, cool);
          if (tripped) {
            expect(next.holding).toBe(true);
            expect(next.holdUntil).toBe(Math.max(until ?? 0, now + cool));
          } else {
            expect(next.holding).toBe(until !== null && now < until);
            if (!next.holding) expect(next.holdUntil).toBeNull();
          }
        },
      ),
    );
  });

  it('keeps holding through the checks right after a partition heals, then lets failover resume', () => {
    let state = massOutageHold(true, null, 1_000, 10_000);
    state = massOutageHold(false, state.holdUntil, 2_000, 10_000);
    expect(state.holding).toBe(true);
    state = massOutageHold(false, state.holdUntil, 11_001, 10_000);
    expect(state).toEqual({ holding: false, holdUntil: null });
  });
});

describe('a silent node answering the monitor’s probe', () => {
  const node = { id: 'n1', bootId: 'boot-a', awaitingAdmission: false };
  const arbProbe = fc.option(
    fc.record(
      {
        nodeId: fc.constantFrom('n1', 'n2'),
        bootId: fc.constantFrom('boot-a', 'boot-b', ''),
        recovering: fc.boolean(),
        reporting: fc.boolean(),
      },
      { requiredKeys: ['nodeId', 'bootId', 'recovering'] }, // a node of an older release does not say whether it reports
    ),
  );

  it('keeps a node from failover only when it answers as itself, serving as the same boot or with its report on the way (queued, or sent from any boot)', () => {
    fc.assert(
      fc.property(fc.constantFrom('boot-a', ''), fc.boolean(), arbProbe, (bootId, awaitingAdmission, probe) => {
        const kept = answersForItself({ ...node, bootId, awaitingAdmission }, probe);
        const itself = probe !== null && probe.nodeId === 'n1';
        const sameBoot = itself && bootId !== '' && probe.bootId === bootId;
        const reporting = itself && probe.recovering && probe.reporting === true;
        expect(kept).toBe((sameBoot && (!probe.recovering || awaitingAdmission)) || reporting);
      }),
    );
  });

  it('keeps a recovering node whose report is on the way though the API has not answered it yet, after a restart too', () => {
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-a', recovering: true, reporting: true })).toBe(true);
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-b', recovering: true, reporting: true })).toBe(true);
    expect(answersForItself({ ...node, bootId: '' }, { nodeId: 'n1', bootId: 'boot-b', recovering: true, reporting: true })).toBe(true);
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-a', recovering: true, reporting: false })).toBe(false);
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-b', recovering: true, reporting: false })).toBe(false);
    expect(answersForItself(node, { nodeId: 'n2', bootId: 'boot-a', recovering: true, reporting: true })).toBe(false);
  });

  it('keeps a recovering node only while it waits in the admission queue: its own incident is on the way', () => {
    const queued = { ...node, awaitingAdmission: true };
    expect(answersForItself(queued, { nodeId: 'n1', bootId: 'boot-a', recovering: true })).toBe(true);
    expect(answersForItself(queued, { nodeId: 'n1', bootId: 'boot-b', recovering: true })).toBe(false);
    expect(answersForItself(queued, null)).toBe(false);
  });

  it('fails over a node that restarted with nothing to report, is recovering with no report on the way (holding I/O, network lost), answers as another, or not at all', () => {
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-a', recovering: false })).toBe(true);
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-b', recovering: false })).toBe(false);
    expect(answersForItself(node, { nodeId: 'n1', bootId: 'boot-a', recovering: true })).toBe(false);
    expect(answersForItself(node, { nodeId: 'n2', bootId: 'boot-a', recovering: false })).toBe(false);
    expect(answersForItself(node, null)).toBe(false);
  });

  it('names what the probe found, as the monitor logs a failover', () => {
    expect(probeVerdict(node, null)).toBe('no-answer');
    expect(probeVerdict(node, { nodeId: 'n2', bootId: 'boot-a', recovering: false })).toBe('another-node');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-b', recovering: false })).toBe('restarted');
    expect(probeVerdict({ ...node, bootId: '' }, { nodeId: 'n1', bootId: '', recovering: false })).toBe('restarted');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-a', recovering: true })).toBe('holding');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-a', recovering: true, reporting: false })).toBe('holding');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-a', recovering: true, reporting: true })).toBe('reporting');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-b', recovering: true, reporting: true })).toBe('reporting');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-b', recovering: true, reporting: false })).toBe('restarted');
    expect(probeVerdict({ ...node, awaitingAdmission: true }, { nodeId: 'n1', bootId: 'boot-a', recovering: true })).toBe('queued');
    expect(probeVerdict(node, { nodeId: 'n1', bootId: 'boot-a', recovering: false })).toBe('serving');
  });
});
