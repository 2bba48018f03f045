export { serverRecovery } from './server-recovery.js';
export { volumeRecovery } from './volume-recovery.js';
export { nodeFailover } from './node-failover.js';
export { snapshotPolicy, volumeDeletion, volumeRebuild, volumeSnapshot } from './volume-maintenance.js';
export { peerDrop } from './peer-drop.js';
export { repairPass } from './fleet-repair.js';
