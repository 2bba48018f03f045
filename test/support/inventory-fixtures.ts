// What tests of the pure rules and of the inventory activities start from: a scanned copy, and an
// inventory of nodes (one power domain each) holding volumes on a primary and a secondary.
import type pg from 'pg';
import { createCustomer } from '../../api/repositories/customers.js';
import { inTransaction } from '../../api/repositories/db.js';
import { upsertNode } from '../../api/repositories/nodes.js';
import { insertVolume, setVolumeState } from '../../api/repositories/volumes.js';
import type { ScannedReplica } from '../../common/types.js';

/** A copy as a node's scan reports it: at epoch 1, writeSeq 9, nothing torn. */
export function scannedCopy(over: Partial<ScannedReplica> = {}): ScannedReplica {
  return {
    volumeId: 'v',
    sizeBytes: 4096,
    role: 'primary',
    epoch: 1,
    writeSeq: 9,
    badBlocks: [],
    dirtyBadBlocks: [],
    digest: 'd',
    baseSnapshotId: null,
    rebuilding: false,
    ...over,
  };
}

/** Nodes in service (power domains p1, p2, … in order), customer cust-1, and 1 MiB volumes available on the first two nodes. */
export async function seedInventory(db: pg.Pool, nodeIds: string[], volumeIds: string[]): Promise<void> {
  for (const [i, id] of nodeIds.entries()) {
    const place = { dc: 'dc1', zone: 'az1', router: 'r1', power: `p${i + 1}`, host: id };
    await upsertNode(db, { id, url: 'http://127.0.0.1:1', nbdAddress: '' }, place, 1 << 30, 600_000);
  }
  await createCustomer(db, 'cust-1', 'one', `bsk_inventory-${Date.now()}`);
  for (const id of volumeIds) await seedVolume(db, id, nodeIds[0]!, nodeIds[1]!);
}

/** A 1 MiB volume of cust-1, available, its primary on `primary` and its secondary on `secondary`. */
export async function seedVolume(db: pg.Pool, id: string, primary: string, secondary: string): Promise<void> {
  const volume = { id, customerId: 'cust-1', sizeBytes: 1 << 20, autoEnableIo: false, sourceSnapshotId: null };
  await inTransaction(db, (tx) => insertVolume(tx, volume, primary, secondary));
  await setVolumeState(db, id, 'available');
}
