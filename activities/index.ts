// Every activity, built from its dependencies. Workflows import this module with `import type` only.
import type { Client } from '@temporalio/client';
import type { Db } from '../api/repositories/db.js';
import { createCoordinationActivities } from './coordination.js';
import { createIncidentActivities } from './incidents.js';
import { createInventoryActivities } from './inventory.js';
import { createRepairActivities } from './repair.js';
import { NodeClient } from '../api/node-client.js';
import { createSnapshotActivities } from './snapshots.js';
import { createStorageNodeActivities } from './storage-node.js';
import type { SnapshotStore } from '../snapshot-store/store.js';

export interface ActivityDeps {
  db: Db;
  client: Client;
  clusterSecret: string;
  peerWaitMs: number;
  reviewDeadlineMs: number;
  snapshots: SnapshotStore;
  rebuildRangeBytes: number;
}

export function createActivities(deps: ActivityDeps) {
  const nodes = new NodeClient(deps.db, deps.clusterSecret);
  return {
    ...createInventoryActivities(deps.db),
    ...createStorageNodeActivities(deps.db, nodes, deps.rebuildRangeBytes),
    ...createIncidentActivities(deps.db, nodes),
    ...createSnapshotActivities(deps.db, deps.snapshots),
    ...createRepairActivities(deps.db, deps.client),
    ...createCoordinationActivities(deps.client, deps.db, { peerWaitMs: deps.peerWaitMs, reviewDeadlineMs: deps.reviewDeadlineMs }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
