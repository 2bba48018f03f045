// Spec: a volume has one secondary, and it is the copy its primary mirrors to. Against a real
// Postgres, through the inventory activities a rebuild uses: a second rebuild of a volume never
// starts while one is in flight (it would re-point the primary's mirror), and a rebuilt copy
// retires the secondary it replaced, so that a failover can never choose a copy that misses
// writes (chaos compound seed 81206 scenario 48: a repair rebuild and a failover's rebuild ran at
// once, the primary mirrored to one, the other was chosen at the next failover: a write was lost).
// A rebuilding copy that a recovery takes is the recovery's: the rebuild's abandon never deletes
// it (compound seed 101206 scenario 63: the abandon deleted the copy a recovery had just elected).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryActivities } from '../../activities/inventory.js';
import { markCandidate, replicasOf } from '../../api/repositories/volumes.js';
import { deletionView, mayDeleteCopy } from '../../common/rules/deletion.js';
import { failoverSurvivor } from '../../common/rules/failover.js';
import { seedInventory } from '../support/inventory-fixtures.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';

/** Which runs first when a failed rebuild's abandon meets its node's investigation offering the copy. */
const RACES = ['offer first', 'abandon first', 'at once', 'at once', 'at once', 'at once'] as const;

const dbName = `blackstart_rebuild_${process.pid}_${Date.now() % 100000}`;

describe('one secondary a volume, the one its primary mirrors to', () => {
  let db: pg.Pool;
  let inventory: ReturnType<typeof createInventoryActivities>;

  beforeAll(async () => {
    ({ db } = await migratedTestDatabase(dbName));
    const volumes = ['vol-1', ...RACES.map((_, i) => `vol-race-${i}`)];
    await seedInventory(db, ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'], volumes);
    inventory = createInventoryActivities(db);
  });

  afterAll(async () => {
    await db.end();
    await admin(`drop database if exists ${dbName} with (force)`);
  });

  it('starts no second rebuild of a volume while one is in flight', async () => {
    const plans = await Promise.all([1, 2, 3].map(() => inventory.planCopy({ volumeId: 'vol-1', source: 'node-a', otherZone: false })));
    expect(plans.filter((p) => p !== null)).toHaveLength(1);
  });

  it('retires the secondary a rebuilt copy replaced, so a failover of the primary chooses the rebuilt copy', async () => {
    const rebuilding = (await replicasOf(db, 'vol-1')).find((r) => r.state === 'rebuilding')!;
    expect(await inventory.recordRebuilt({ volumeId: 'vol-1', nodeId: rebuilding.nodeId, epoch: 1 })).toBe(true);
    const copies = await replicasOf(db, 'vol-1');
    const state = Object.fromEntries(copies.map((r) => [r.nodeId, `${r.role} ${r.state}`]));
    expect(state).toMatchObject({
      'node-a': 'primary in-service',
      'node-b': 'secondary stale',
      [rebuilding.nodeId]: 'secondary in-service',
    });
    expect(failoverSurvivor(copies, 'node-a')?.nodeId).toBe(rebuilding.nodeId);
    expect(await inventory.planCopy({ volumeId: 'vol-1', source: 'node-a', otherZone: false })).not.toBeNull();
  });

  it.each(RACES.map((order, i) => [order, `vol-race-${i}`]))(
    'a rebuilding copy is either held by the recovery it is offered to, or out of the membership and never offered (%s)',
    async (order, volumeId) => {
      const plan = (await inventory.planCopy({ volumeId, source: 'node-a', otherZone: false }))!;
      const offer = () => markCandidate(db, volumeId, plan.target, 0);
      const abandon = () => inventory.abandonCopy({ volumeId, nodeId: plan.target });
      let offered: boolean;
      if (order === 'offer first') offered = await offer().then(async (held) => (await abandon(), held));
      else if (order === 'abandon first') offered = await abandon().then(offer);
      else [offered] = await Promise.all([offer(), abandon()]);

      const copies = await replicasOf(db, volumeId);
      const state = copies.find((r) => r.nodeId === plan.target)!.state;
      const rebuildMayDelete = mayDeleteCopy(false, plan.target, deletionView(copies), 'other');
      const held = { offered: true, state: 'candidate', rebuildMayDelete: false };
      const left = { offered: false, state: 'stale', rebuildMayDelete: true };
      const expected = order === 'offer first' ? held : order === 'abandon first' ? left : offered ? held : left;
      expect({ offered, state, rebuildMayDelete }).toEqual(expected);
    },
  );
});
