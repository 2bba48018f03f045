// The network-host harness itself, on real namespaces, veth pairs, bridges and nftables: each
// fault cuts exactly the traffic it names, in both directions, and its heal restores it; the
// teardown leaves nothing behind, and a crashed run's leftovers are swept by the next.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, nft } from '../../cluster/network-exec.js';
import { NetworkHosts } from '../../cluster/network-hosts.js';
import { parseLinkNames, parseNamespaces } from '../../cluster/network-plan.js';
import { Probe, allPairs, without } from '../support/network-probe.js';

const NODES = [
  { nodeId: 'node-1', domainPath: 'dc1/az1/r1/p1/h1' },
  { nodeId: 'node-2', domainPath: 'dc1/az1/r1/p2/h2' },
  { nodeId: 'node-3', domainPath: 'dc1/az2/r2/p3/h3' },
];
const EVERYONE = ['cp', 'node-1', 'node-2', 'node-3'];
const ALL = allPairs(EVERYONE);

describe('network hosts and their faults', () => {
  let net: NetworkHosts;
  let probe: Probe;

  beforeAll(async () => {
    net = await NetworkHosts.create(NODES);
    probe = new Probe(net);
    await probe.listen();
  });
  afterAll(async () => {
    await probe?.close();
    await net?.teardown();
  });

  it('connects every node with the control plane and with each other, on its own address', async () => {
    expect(net.plan.hosts.map((h) => h.address)).toEqual([
      `10.${64 + net.plan.slot}.1.10`,
      `10.${64 + net.plan.slot}.1.11`,
      `10.${64 + net.plan.slot}.2.10`,
    ]);
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('a cut from the control plane drops only the node’s traffic with the control plane, both ways, until healed', async () => {
    const heal = await net.faults.cut('node-1', 'control-plane');
    expect(await probe.matrix(EVERYONE)).toEqual(without(ALL, ['cp|node-1']));
    await heal();
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('a cut from the peers leaves the control plane reachable; a cut from one peer leaves the others', async () => {
    let heal = await net.faults.cut('node-1', 'peers');
    expect(await probe.matrix(EVERYONE)).toEqual(without(ALL, ['node-1|node-2', 'node-1|node-3']));
    await heal();
    heal = await net.faults.cut('node-1', 'peers', ['node-3']);
    expect(await probe.matrix(EVERYONE)).toEqual(without(ALL, ['node-1|node-3']));
    await heal();
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('a cut from everything isolates the node; two faults at once heal one by one', async () => {
    const healAll = await net.faults.cut('node-3', 'everything');
    const healCp = await net.faults.cut('node-1', 'control-plane');
    expect(await probe.matrix(EVERYONE)).toEqual(without(ALL, ['cp|node-3', 'node-1|node-3', 'node-2|node-3', 'cp|node-1']));
    await healAll();
    expect(await probe.matrix(EVERYONE)).toEqual(without(ALL, ['cp|node-1']));
    await healCp();
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('a router cut leaves its nodes reaching only each other', async () => {
    const heal = await net.faults.cutRouter('r1');
    expect(await probe.matrix(EVERYONE)).toEqual(['node-1>node-2', 'node-2>node-1', 'cp>node-3', 'node-3>cp'].sort(byAll));
    await heal();
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('a flapping link is alternately cut and connected, and connected once healed', async () => {
    const heal = net.faults.flap('node-3', { downMs: 400, upMs: 400 });
    const seen = new Set<string>();
    // Probe across several cycles: the first `ip link set down` may land after a dozen quick connects.
    const until = Date.now() + 10_000;
    while (seen.size < 2 && Date.now() < until) {
      seen.add(await probe.connectOnce('cp', 'node-3', 200));
      await new Promise((r) => setTimeout(r, 50));
    }
    await heal();
    expect([...seen].sort()).toEqual(['ok', 'timeout']);
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('packet loss drops some connections and lets others through', async () => {
    const heal = await net.faults.loss('node-2', 50);
    // A connection made within 300 ms needs its SYN and SYN-ACK through: 1 in 4 at 50% loss each way.
    const results = await Promise.all(Array.from({ length: 40 }, () => probe.connectOnce('cp', 'node-2', 300)));
    await heal();
    const made = results.filter((r) => r === 'ok').length;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(40);
    expect(results.every((r) => r === 'ok' || r === 'timeout')).toBe(true);
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('the teardown heals what is in force and deletes every namespace, link and rule', async () => {
    const other = await NetworkHosts.create(NODES);
    const prefix = other.plan.prefix;
    await other.faults.cut('node-1', 'everything');
    other.faults.flap('node-2', { downMs: 100, upMs: 100 });
    await other.teardown();
    expect(await leftovers(prefix)).toEqual([]);
    expect(await probe.matrix(EVERYONE)).toEqual(ALL);
  });

  it('runs that died without their teardown leave slots the next run sweeps: its own, reused, and every other dead one', async () => {
    const crashed = [await NetworkHosts.create(NODES), await NetworkHosts.create(NODES)];
    for (const c of crashed) {
      await c.faults.cut('node-1', 'everything');
      // Its process "died": the slot names a pid that no longer runs; namespaces, links and rules stay.
      writeFileSync(join('/run/blackstart-net', String(c.plan.slot)), String(spawnSync('true').pid));
      expect((await leftovers(c.plan.prefix)).length).toBeGreaterThan(0);
    }

    const next = await NetworkHosts.create(NODES);
    try {
      expect(next.plan.prefix).toBe(crashed[0]!.plan.prefix);
      expect(await leftovers(crashed[1]!.plan.prefix)).toEqual([]);
      const nextProbe = new Probe(next);
      await nextProbe.listen();
      expect(await nextProbe.matrix(EVERYONE)).toEqual(ALL);
      await nextProbe.close();
    } finally {
      await next.teardown();
    }
    for (const c of crashed) expect(await leftovers(c.plan.prefix)).toEqual([]);
  });
});

function byAll(a: string, b: string): number {
  return ALL.indexOf(a) - ALL.indexOf(b);
}

/** Links, namespaces and the nftables table of a prefix that still exist. */
async function leftovers(prefix: string): Promise<string[]> {
  const links = parseLinkNames(await ip(['-o', 'link', 'show']));
  const namespaces = parseNamespaces(await ip(['netns', 'list']));
  const table = await nft(`list table bridge ${prefix}\n`).then(
    () => [`table bridge ${prefix}`],
    () => [],
  );
  return [...links, ...namespaces].filter((n) => n.startsWith(`${prefix}-`)).concat(table);
}
