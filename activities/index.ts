// Every activity, built from its dependencies. Workflows import this module with `import type` only.
import type { Client } from '@temporalio/client';
import type { Db } from '../api/repositories/db.js';
import { createCoordinationActivities } from './coordination.js';
import { createInventoryActivities } from './inventory.js';
import { NodeClient } from '../api/node-client.js';
import { createStorageNodeActivities } from './storage-node.js';

export interface ActivityDeps {
  db: Db;
  client: Client;
  clusterSecret: string;
  peerWaitMs: number;
}

export function createActivities(deps: ActivityDeps) {
  const nodes = new NodeClient(deps.db, deps.clusterSecret);
  return {
    ...createInventoryActivities(deps.db),
    ...createStorageNodeActivities(deps.db, nodes),
    ...createCoordinationActivities(deps.client, deps.db, deps.peerWaitMs),
  };
}

export type Activities = ReturnType<typeof createActivities>;
