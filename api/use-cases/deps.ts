import type { Client } from '@temporalio/client';
import type { ApiConfig } from '../config.js';
import type { DataPathState } from './data-path.js';
import type { NodeClient } from '../node-client.js';
import type { Db } from '../repositories/db.js';
import type { SnapshotStore } from '../../snapshot-store/store.js';

/** What every use case may touch. */
export interface Deps {
  db: Db;
  temporal: Client;
  nodes: NodeClient;
  config: ApiConfig;
  snapshots: SnapshotStore;
  /** Per-process state of the customer data path: shared primary watches, in-flight caps. */
  dataPath: DataPathState;
}
