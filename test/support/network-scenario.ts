// What the network-fault tests judge a cluster by: acknowledged writes read back, no split
// brain in the nodes' operation logs, every node in service and every workflow finished.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ackLines, splitBrainWrites, type AckLine, type SplitBrainWrite } from '../../chaos/split-brain.js';
import { openWorkflows } from '../../chaos/invariants.js';
import { copiesOf, eventually, pattern, type TestCluster } from './test-cluster.js';

interface AckedWrite {
  volumeId: string;
  offset: number;
  bytes: Buffer;
}

/** Every write the customer had acknowledged, at offsets that never overlap, to read back later. */
export class WriteLedger {
  readonly writes: AckedWrite[] = [];

  constructor(private readonly t: TestCluster) {}

  async write(volumeId: string, offset: number, label: string, length = 4096): Promise<void> {
    const bytes = pattern(`${label}-${volumeId}`, length);
    await this.t.customer.write(volumeId, offset, bytes);
    this.writes.push({ volumeId, offset, bytes });
  }

  /** A write that may fail or not be answered in time: recorded only when acknowledged. */
  async tryWrite(volumeId: string, offset: number, label: string, timeoutMs: number): Promise<boolean> {
    const bytes = pattern(`${label}-${volumeId}`, 4096);
    try {
      await this.t.customer.write(volumeId, offset, bytes, AbortSignal.timeout(timeoutMs));
    } catch {
      return false;
    }
    this.writes.push({ volumeId, offset, bytes });
    return true;
  }

  /** The acknowledged writes that do not read back as they were written. */
  async lost(): Promise<string[]> {
    const lost: string[] = [];
    for (const w of this.writes) {
      const read = await this.t.customer.read(w.volumeId, w.offset, w.bytes.length);
      if (!read.equals(w.bytes)) lost.push(`${w.volumeId}@${w.offset}`);
    }
    return lost;
  }
}

/** Every node's `ack` lines and the split-brain writes among them (chaos/split-brain.ts). */
export async function splitBrainEvidence(t: TestCluster): Promise<{ acks: AckLine[]; splitBrain: SplitBrainWrite[] }> {
  const acks: AckLine[] = [];
  for (const nodeId of t.cluster.nodes.keys()) {
    const text = await readFile(join(t.cluster.opts.dir, 'nodes', nodeId, 'operations.jsonl'), 'utf8').catch(() => '');
    acks.push(...ackLines(nodeId, text));
  }
  return { acks, splitBrain: splitBrainWrites(acks) };
}

export async function fleetStates(t: TestCluster): Promise<Record<string, string>> {
  const { nodes } = await t.operator.fleet();
  return Object.fromEntries(nodes.map((n) => [n.nodeId, n.state]));
}

/** The volumes with a copy on any of the nodes. */
export async function volumesOn(t: TestCluster, volumes: string[], nodes: string[]): Promise<string[]> {
  const on: string[] = [];
  for (const v of volumes) if ((await copiesOf(t, v)).some((c) => nodes.includes(c.nodeId))) on.push(v);
  return on;
}

/** Each volume serves from a primary off the given nodes, at a newer epoch than 1. */
export async function failedOverAway(t: TestCluster, volumes: string[], away: string[]): Promise<boolean> {
  for (const v of volumes) {
    const primary = (await copiesOf(t, v)).find((c) => c.role === 'primary' && c.state === 'in-service');
    if (!primary || away.includes(primary.nodeId) || primary.epoch < 2) return false;
  }
  return true;
}

/** Every node in service, and each of `returned` through a finished server recovery. */
export async function everyNodeBackInService(t: TestCluster, returned: string[], timeoutMs = 120_000): Promise<void> {
  await eventually(
    'every node back in service',
    async () => {
      const states = await fleetStates(t);
      if (Object.values(states).some((s) => s !== 'in-service')) return false;
      const { recoveries } = await t.operator.recoveries();
      return returned.every((n) => recoveries.some((r) => r.nodeId === n && r.inServiceAt));
    },
    timeoutMs,
  );
}

/** Every volume serves with I/O enabled and two copies in service. */
export async function everyVolumeReplicated(t: TestCluster, volumes: string[], timeoutMs = 120_000): Promise<void> {
  await eventually(
    'every volume serving on two copies',
    async () => {
      for (const v of volumes) {
        const copies = await copiesOf(t, v);
        if ((await t.customer.volume(v)).ioState !== 'enabled') return false;
        if (copies.length !== 2 || copies.some((c) => c.state !== 'in-service')) return false;
      }
      return true;
    },
    timeoutMs,
  );
}

export async function noWorkflowOpen(t: TestCluster, timeoutMs = 90_000): Promise<void> {
  await eventually('every workflow finished', async () => (await openWorkflows(t.cluster)).length === 0, timeoutMs);
}

/** The invariants every network scenario ends with. */
export async function expectNoLossAndNoSplitBrain(t: TestCluster, ledger: WriteLedger): Promise<void> {
  expect(await ledger.lost()).toEqual([]);
  const { acks, splitBrain } = await splitBrainEvidence(t);
  expect(acks.length, 'the nodes logged their acknowledgements').toBeGreaterThan(0);
  expect(splitBrain).toEqual([]);
}
