// A cluster's network hosts in the kernel: namespaces, veth pairs and bridges built from the plan
// (network-plan.ts), a slot claimed so parallel clusters never collide, and a teardown that runs
// whatever happened (also at process exit, and as a sweep of a crashed run's leftovers).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeSpec } from './local-cluster.js';
import { ip, nft } from './network-exec.js';
import { NetworkFaults } from './network-faults.js';
import {
  MAX_SLOTS,
  hostOf,
  leftoverCommands,
  parseLinkNames,
  parseNamespaces,
  planNetwork,
  setupCommands,
  type NetworkPlan,
} from './network-plan.js';

/** tmpfs like the namespaces themselves: a reboot clears both. */
const SLOT_DIR = '/run/blackstart-net';

export class NetworkHosts {
  readonly faults: NetworkFaults;
  private readonly onExit = () => sweepSync(this.plan.prefix);

  private constructor(readonly plan: NetworkPlan) {
    this.faults = new NetworkFaults(plan);
  }

  /** Claims a slot, sweeps what a crashed holder of it left, and builds the hosts. */
  static async create(nodes: NodeSpec[]): Promise<NetworkHosts> {
    const slot = claimSlot();
    const hosts = new NetworkHosts(planNetwork(slot, nodes));
    process.once('exit', hosts.onExit);
    try {
      await sweep(hosts.plan.prefix);
      for (const args of setupCommands(hosts.plan)) await ip(args);
    } catch (err) {
      await hosts.teardown();
      throw err;
    }
    return hosts;
  }

  address(nodeId: string): string {
    return hostOf(this.plan, nodeId).address;
  }

  /** The prefix that runs a command inside the node's namespace. */
  execPrefix(nodeId: string): string[] {
    return ['netns', 'exec', hostOf(this.plan, nodeId).namespace];
  }

  /** Heals every fault, then deletes the namespaces, links, bridges and rules; frees the slot. */
  async teardown(): Promise<void> {
    await this.faults.healAll().catch(() => undefined);
    await sweep(this.plan.prefix);
    process.removeListener('exit', this.onExit);
    releaseSlot(this.plan.slot);
  }
}

/** A slot is a file holding its owner's pid; a dead owner's slot is taken over (and swept). */
function claimSlot(): number {
  mkdirSync(SLOT_DIR, { recursive: true });
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const path = join(SLOT_DIR, String(slot));
    if (tryCreate(path)) return slot;
    if (ownerAlive(path)) continue;
    try {
      unlinkSync(path);
    } catch {
      // another process reclaimed it first
    }
    if (tryCreate(path)) return slot;
  }
  throw new Error(`every network slot (${MAX_SLOTS}) in ${SLOT_DIR} is held by a live process`);
}

function tryCreate(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function ownerAlive(path: string): boolean {
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseSlot(slot: number): void {
  try {
    unlinkSync(join(SLOT_DIR, String(slot)));
  } catch {
    // already gone
  }
}

/** Deletes everything named with the prefix; each step may fail (already gone) without stopping the rest. */
async function sweep(prefix: string): Promise<void> {
  await nft(`table bridge ${prefix}\ndelete table bridge ${prefix}\n`).catch(() => undefined);
  const links = parseLinkNames(await ip(['-o', 'link', 'show']));
  const namespaces = parseNamespaces(await ip(['netns', 'list']));
  for (const args of leftoverCommands(prefix, links, namespaces)) await ip(args).catch(() => undefined);
}

/** The same at process exit, where only synchronous work runs. */
function sweepSync(prefix: string): void {
  const quiet = { stdio: 'ignore' as const };
  try {
    execFileSync('nft', ['delete', 'table', 'bridge', prefix], quiet);
  } catch {
    // no table
  }
  try {
    const links = parseLinkNames(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }));
    const namespaces = parseNamespaces(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }));
    for (const args of leftoverCommands(prefix, links, namespaces)) {
      try {
        execFileSync('ip', args, quiet);
      } catch {
        // already gone
      }
    }
  } catch {
    // ip itself failed: nothing more can be done at exit
  }
}
