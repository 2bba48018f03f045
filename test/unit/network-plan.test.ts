// The network hosts' plan: addresses and names unique per cluster and short enough for the
// kernel, and the kernel commands and rules each fault produces.
import { describe, expect, it } from 'vitest';
import {
  IFNAMSIZ_MAX,
  MAX_SLOTS,
  leftoverCommands,
  parseLinkNames,
  parseNamespaces,
  planNetwork,
  setupCommands,
} from '../../cluster/network-plan.js';
import { faultRules, linkCommand, nftRuleset } from '../../cluster/network-rules.js';
import { defaultTopology } from '../../cluster/topology.js';

const fleet = defaultTopology(6); // routers r1 (node-1, 2, 5, 6) and r2 (node-3, 4)

describe('the network plan', () => {
  it('gives each node its own address in its router and the control plane .0.1, in the slot’s own /16', () => {
    const plan = planNetwork(3, fleet);
    expect(plan.subnet).toBe('10.67.0.0/16');
    expect(plan.controlAddress).toBe('10.67.0.1');
    expect(plan.routers.map((r) => [r.path, r.name])).toEqual([
      ['dc1/az1/r1', 'r1'],
      ['dc1/az2/r2', 'r2'],
    ]);
    expect(plan.hosts.map((h) => [h.nodeId, h.address])).toEqual([
      ['node-1', '10.67.1.10'],
      ['node-2', '10.67.1.11'],
      ['node-3', '10.67.2.10'],
      ['node-4', '10.67.2.11'],
      ['node-5', '10.67.1.12'],
      ['node-6', '10.67.1.13'],
    ]);
  });

  it('never shares an address or a name between two slots, and every name fits IFNAMSIZ', () => {
    const big = defaultTopology(200);
    const seen = new Set<string>();
    for (const slot of [0, 9, 10, MAX_SLOTS - 1]) {
      const plan = planNetwork(slot, big);
      const names = [
        plan.core,
        ...plan.routers.flatMap((r) => [r.bridge, r.uplink, r.downlink]),
        ...plan.hosts.flatMap((h) => [h.namespace, h.hostLink, h.nodeLink]),
      ];
      const addresses = [plan.controlAddress, ...plan.hosts.map((h) => h.address)];
      for (const n of names) expect(n.length).toBeLessThanOrEqual(IFNAMSIZ_MAX);
      for (const x of [...names, ...addresses]) {
        expect(seen.has(x), x).toBe(false);
        seen.add(x);
      }
      for (const n of names) expect(n.startsWith(`${plan.prefix}-`)).toBe(true);
    }
  });

  it('refuses a slot outside the private range it plans in', () => {
    expect(() => planNetwork(MAX_SLOTS, fleet)).toThrow(/outside/);
    expect(() => planNetwork(-1, fleet)).toThrow(/outside/);
  });

  it('builds the core bridge, a bridge and uplink per router, and a namespace with one veth per node', () => {
    const commands = setupCommands(planNetwork(0, defaultTopology(2))).map((c) => c.join(' '));
    expect(commands).toEqual([
      'link add bs0-core type bridge forward_delay 0 stp_state 0',
      'addr add 10.64.0.1/16 dev bs0-core',
      'link set bs0-core up',
      'link add bs0-r1 type bridge forward_delay 0 stp_state 0',
      'link set bs0-r1 up',
      'link add bs0-u1 type veth peer name bs0-d1',
      'link set bs0-u1 master bs0-core up',
      'link set bs0-d1 master bs0-r1 up',
      'netns add bs0-n1',
      'link add bs0-h1 type veth peer name bs0-e1 netns bs0-n1',
      '-n bs0-n1 addr add 10.64.1.10/16 dev bs0-e1',
      '-n bs0-n1 link set bs0-e1 up',
      '-n bs0-n1 link set lo up',
      'link set bs0-h1 master bs0-r1 up',
      'netns add bs0-n2',
      'link add bs0-h2 type veth peer name bs0-e2 netns bs0-n2',
      '-n bs0-n2 addr add 10.64.1.11/16 dev bs0-e2',
      '-n bs0-n2 link set bs0-e2 up',
      '-n bs0-n2 link set lo up',
      'link set bs0-h2 master bs0-r1 up',
    ]);
  });

  it('sweeps only its own prefix’s leftovers, deleting each veth pair once by its root-side end', () => {
    const links = parseLinkNames(
      [
        '1: lo: <LOOPBACK,UP>',
        '7: bs1-core: <BROADCAST>',
        '8: bs1-u1@bs1-d1: <…>',
        '9: bs1-d1@bs1-u1: <…>',
        '10: bs1-h1@if3: <…>',
        '11: bs12-core: <…>',
        '12: eth0: <…>',
      ].join('\n'),
    );
    const namespaces = parseNamespaces('bs1-n1 (id: 0)\nbs12-n1 (id: 1)\nother\n');
    expect(leftoverCommands('bs1', links, namespaces).map((c) => c.join(' '))).toEqual([
      'netns del bs1-n1',
      'link del bs1-core',
      'link del bs1-u1',
      'link del bs1-h1',
    ]);
  });
});

describe('the rules a fault produces', () => {
  const plan = planNetwork(2, fleet);

  it('a cut from the control plane drops the node’s packets to and from 10.S.0.1 only', () => {
    expect(faultRules(plan, { kind: 'cut', nodeId: 'node-1', scope: 'control-plane' })).toEqual([
      'ip saddr 10.66.1.10 ip daddr { 10.66.0.1 } drop',
      'ip saddr { 10.66.0.1 } ip daddr 10.66.1.10 drop',
    ]);
  });

  it('a cut from the peers drops traffic with every other node, or the ones named', () => {
    const all = faultRules(plan, { kind: 'cut', nodeId: 'node-1', scope: 'peers' });
    expect(all[0]).toBe('ip saddr 10.66.1.10 ip daddr { 10.66.1.11, 10.66.2.10, 10.66.2.11, 10.66.1.12, 10.66.1.13 } drop');
    expect(all[0]).not.toContain('10.66.0.1');
    expect(faultRules(plan, { kind: 'cut', nodeId: 'node-1', scope: 'peers', peers: ['node-3'] })).toEqual([
      'ip saddr 10.66.1.10 ip daddr { 10.66.2.10 } drop',
      'ip saddr { 10.66.2.10 } ip daddr 10.66.1.10 drop',
    ]);
  });

  it('a cut from everything drops every packet from or to the node', () => {
    expect(faultRules(plan, { kind: 'cut', nodeId: 'node-4', scope: 'everything' })).toEqual([
      'ip saddr 10.66.2.11 drop',
      'ip daddr 10.66.2.11 drop',
    ]);
  });

  it('loss drops a random share of each direction, and refuses a share outside (0, 100]', () => {
    expect(faultRules(plan, { kind: 'loss', nodeId: 'node-2', percent: 20 })).toEqual([
      'ip saddr 10.66.1.11 numgen random mod 100 < 20 drop',
      'ip daddr 10.66.1.11 numgen random mod 100 < 20 drop',
    ]);
    expect(() => faultRules(plan, { kind: 'loss', nodeId: 'node-2', percent: 0 })).toThrow();
    expect(() => faultRules(plan, { kind: 'loss', nodeId: 'node-2', percent: 101 })).toThrow();
  });

  it('the table is rewritten whole in one transaction, and with no fault left it is deleted', () => {
    expect(nftRuleset(plan, [])).toBe('table bridge bs2\ndelete table bridge bs2\n');
    const text = nftRuleset(plan, [{ kind: 'cut', nodeId: 'node-4', scope: 'everything' }]);
    expect(text.startsWith('table bridge bs2\ndelete table bridge bs2\ntable bridge bs2 {\n')).toBe(true);
    expect(text).toContain('type filter hook forward priority 0; policy accept;');
    expect(text).toContain('    ip saddr 10.66.2.11 drop\n');
  });

  it('a router cut takes its uplink down; a flapping node takes its own veth down and up', () => {
    expect(linkCommand(plan, { kind: 'router', router: 'r2' }, false)).toEqual(['link', 'set', 'bs2-u2', 'down']);
    expect(linkCommand(plan, { kind: 'router', router: 'dc1/az1/r1' }, true)).toEqual(['link', 'set', 'bs2-u1', 'up']);
    expect(linkCommand(plan, { kind: 'link', nodeId: 'node-6' }, false)).toEqual(['link', 'set', 'bs2-h6', 'down']);
    expect(() => linkCommand(plan, { kind: 'router', router: 'r9' }, false)).toThrow();
  });
});
