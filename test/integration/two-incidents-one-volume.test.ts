// Spec: both nodes of a volume are in incidents at once: the primary's node crashed, the
// secondary's was only declared down. Against a real Postgres, through the inventory activities
// the two server recoveries use: the secondary's rejoin and the primary's investigation commit in
// either order, and the secondary never serves again beside a primary copy a volume recovery
// holds. Either the rejoin came first, and the primary's copy is a duplicate of a healthy peer,
// or the investigation came first, and the rejoin is turned into an offer to the same recovery
// (chaos seed 131207 scenario 18: the secondary rejoined, the recovery restored the torn primary
// alone, and the torn block's acknowledged write was lost).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryActivities } from '../../activities/inventory.js';
import { inTransaction } from '../../api/repositories/db.js';
import { markNodeReplicasRecovering, replicasOf } from '../../api/repositories/volumes.js';
import { scannedCopy, seedInventory, seedVolume } from '../support/inventory-fixtures.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';

const ORDERS = ['investigation first', 'rejoin first', 'at once', 'at once', 'at once', 'at once', 'at once', 'at once'] as const;
const dbName = `blackstart_two_incidents_${process.pid}_${Date.now() % 100000}`;

const scanned = (volumeId: string) => scannedCopy({ volumeId, sizeBytes: 1 << 20, writeSeq: 7, badBlocks: [36], digest: 'torn' });

describe('two nodes of one volume in incidents at once', () => {
  let db: pg.Pool;
  let inventory: ReturnType<typeof createInventoryActivities>;

  beforeAll(async () => {
    ({ db } = await migratedTestDatabase(dbName));
    await seedInventory(
      db,
      ['node-a', 'node-b'],
      ORDERS.map((_, i) => `vol-${i}`),
    );
    await inTransaction(db, async (tx) => {
      await markNodeReplicasRecovering(tx, 'node-a');
      await markNodeReplicasRecovering(tx, 'node-b');
    });
    inventory = createInventoryActivities(db);
  });

  afterAll(async () => {
    await db.end();
    await admin(`drop database if exists ${dbName} with (force)`);
  });

  it.each(ORDERS.map((order, i) => [order, `vol-${i}`]))(
    'the secondary classified to rejoin either rejoins before the primary is held, or is offered beside it (%s)',
    async (order, volumeId) => {
      const [secondary] = await inventory.investigate({
        nodeId: 'node-b',
        scan: {
          nodeId: 'node-b',
          scannedAt: new Date().toISOString(),
          crashed: false,
          replicas: [{ ...scanned(volumeId), role: 'secondary', badBlocks: [] }],
        },
      });
      expect(secondary!.classification).toBe('rejoin');
      const investigate = async () =>
        (
          await inventory.investigate({
            nodeId: 'node-a',
            scan: { nodeId: 'node-a', scannedAt: new Date().toISOString(), crashed: true, replicas: [scanned(volumeId)] },
          })
        )[0]!.classification;
      const rejoin = () => inventory.recordRejoined({ volumeId, nodeId: 'node-b' });
      let primary: string;
      let rejoined: boolean | 'offer';
      if (order === 'investigation first') [primary, rejoined] = [await investigate(), await rejoin()];
      else if (order === 'rejoin first') [rejoined, primary] = [await rejoin(), await investigate()];
      else [primary, rejoined] = await Promise.all([investigate(), rejoin()]);

      const state = Object.fromEntries((await replicasOf(db, volumeId)).map((r) => [r.nodeId, r.state]));
      const heldBoth = { primary: 'candidate', rejoined: 'offer', state: { 'node-a': 'candidate', 'node-b': 'recovering' } };
      const failOver = { primary: 'duplicate', rejoined: true, state: { 'node-a': 'recovering', 'node-b': 'in-service' } };
      const expected =
        order === 'investigation first' ? heldBoth : order === 'rejoin first' ? failOver : rejoined === true ? failOver : heldBoth;
      expect({ primary, rejoined, state }).toEqual(expected);
    },
  );

  it("does not offer the crashed primary while the secondary's rejoin waits for its node to resume, and then fails over to it", async () => {
    const volumeId = 'vol-rejoining';
    await seedVolume(db, volumeId, 'node-a', 'node-b');
    await db.query(`update replicas set state = 'recovering' where volume_id = $1`, [volumeId]);
    await db.query(`update nodes set state = 'recovering' where id = 'node-b'`);
    expect(await inventory.recordRejoined({ volumeId, nodeId: 'node-b' })).toBe(true);
    const investigate = () =>
      inventory.investigate({
        nodeId: 'node-a',
        scan: { nodeId: 'node-a', scannedAt: new Date().toISOString(), crashed: true, replicas: [scanned(volumeId)] },
      });

    await expect(investigate()).rejects.toMatchObject({ type: 'PeerRejoining' });
    const state = async () => Object.fromEntries((await replicasOf(db, volumeId)).map((r) => [r.nodeId, r.state]));
    expect(await state()).toEqual({ 'node-a': 'recovering', 'node-b': 'in-service' });

    await db.query(`update nodes set state = 'in-service' where id = 'node-b'`);
    expect((await investigate())[0]!.classification).toBe('duplicate');
  });
});
