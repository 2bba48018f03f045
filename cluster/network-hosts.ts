// A cluster's network hosts in the kernel: namespaces, veth pairs and bridges built from the plan
// (network-plan.ts), a slot claimed so parallel clusters never collide, and a teardown that runs
// whatever happened (also at process exit, and as a sweep of a crashed run's leftovers).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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
  prefixOf,
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

  /** Claims a slot, sweeps what crashed runs left (in it and in other dead slots), and builds the hosts. */
  static async create(nodes: NodeSpec[]): Promise<NetworkHosts> {
    const slot = claimSlot();
    const hosts = new NetworkHosts(planNetwork(slot, nodes));
    process.once('exit', hosts.onExit);
    try {
      await sweep(hosts.plan.prefix);
      await reapDeadSlots(slot);
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
    const path = slotPath(slot);
    if (tryCreate(path) || (!ownerAlive(path) && takeOver(path))) return slot;
  }
  throw new Error(`every network slot (${MAX_SLOTS}) in ${SLOT_DIR} is held by a live process`);
}

function slotPath(slot: number): string {
  return join(SLOT_DIR, String(slot));
}

/**
 * Moves a dead owner's file aside (a rename succeeds for one process only), checks it was still
 * the dead owner's, and claims the slot; a live claim moved aside by mistake is put back.
 */
function takeOver(path: string): boolean {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  if (ownerAlive(aside)) {
    renameSync(aside, path);
    return false;
  }
  unlinkSync(aside);
  return tryCreate(path);
}

/** Sweeps the leftovers of every other slot whose owner died, so a crashed run's hosts do not wait for its slot to be reused. */
async function reapDeadSlots(mine: number): Promise<void> {
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const path = slotPath(slot);
    if (slot === mine || !existsSync(path) || ownerAlive(path) || !takeOver(path)) continue;
    await sweep(prefixOf(slot));
    releaseSlot(slot);
  }
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
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return false; // gone meanwhile: nobody's claim to protect
  }
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
    unlinkSync(slotPath(slot));
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
