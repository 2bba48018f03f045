// nodeFailover: a node stopped heartbeating. Each volume with a live peer fails over to it
// (epoch+1), so the silent node's copies are stale when it returns.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { CONTROL } from './activity-profiles.js';
import { failOver } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);
const BATCH = 16;

export interface NodeFailoverInput {
  nodeId: string;
  incident: number;
}

export async function nodeFailover({ nodeId }: NodeFailoverInput): Promise<{ volumes: number; failedOver: number }> {
  const volumes = await control.listMemberVolumes({ nodeId });
  let failedOver = 0;
  for (let i = 0; i < volumes.length; i += BATCH) {
    const moved = await Promise.all(volumes.slice(i, i + BATCH).map((volumeId) => failOver(volumeId, nodeId)));
    failedOver += moved.filter((m) => m === 'moved').length;
  }
  return { volumes: volumes.length, failedOver };
}
