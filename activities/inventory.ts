// Activities on the control-plane inventory (Postgres): classification, membership, decisions.
import { classifyReplica } from '../common/rules/classify.js';
import type { Classification, ScanReport, ScannedReplica } from '../common/types.js';
import { inTransaction, type Db } from '../api/repositories/db.js';
import { endEvent, INCONSISTENCY_EVENT, openEvent, recordEvent } from '../api/repositories/events.js';
import {
  getVolume,
  inventoryFor,
  isHealthy,
  isMember,
  lockVolume,
  memberVolumesOnNode,
  replicasOf,
  retireOtherMembers,
  setReplicaMembership,
  setReplicaState,
  setVolumeEpoch,
} from '../api/repositories/volumes.js';


export interface FailoverPlan {
  volumeId: string;
  leaving: string;
  survivor: string;
  fromEpoch: number;
  epoch: number;
}

export interface ClassifiedCopy {
  volumeId: string;
  classification: Classification;
  copy: ScannedReplica;
  /** The volume's epoch at classification: it names the volume incident. */
  volumeEpoch: number;
  /** The members a volume recovery should wait for. */
  expectedNodes: string[];
}

export function createInventoryActivities(db: Db) {
  return {
    async investigate({ nodeId, scan }: { nodeId: string; scan: ScanReport }): Promise<ClassifiedCopy[]> {
      const inventory = await inventoryFor(db, scan.replicas.map((r) => r.volumeId));
      return scan.replicas.map((copy) => {
        const volume = inventory.get(copy.volumeId);
        return {
          volumeId: copy.volumeId,
          classification: classifyReplica(nodeId, copy, volume, scan.crashed),
          copy,
          volumeEpoch: volume?.epoch ?? copy.epoch,
          expectedNodes: volume?.members.map((m) => m.nodeId) ?? [nodeId],
        };
      });
    },

    async listMemberVolumes({ nodeId }: { nodeId: string }): Promise<string[]> {
      return memberVolumesOnNode(db, nodeId);
    },

    /**
     * Plans a failover away from `nodeId`: the healthy member that would serve alone at epoch+1.
     * Nothing changes yet; the survivor must accept the new epoch before the inventory does.
     */
    async planFailover({ volumeId, nodeId }: { volumeId: string; nodeId: string }): Promise<FailoverPlan | null> {
      const volume = await getVolume(db, volumeId);
      if (!volume) return null;
      const replicas = await replicasOf(db, volumeId);
      const self = replicas.find((r) => r.nodeId === nodeId);
      const survivor = replicas.find((r) => r.nodeId !== nodeId && isMember(r) && isHealthy(r));
      if (!self || !isMember(self) || !survivor) return null;
      return { volumeId, leaving: nodeId, survivor: survivor.nodeId, fromEpoch: volume.epoch, epoch: volume.epoch + 1 };
    },

    async isMember({ volumeId, nodeId }: { volumeId: string; nodeId: string }): Promise<boolean> {
      return (await replicasOf(db, volumeId)).some((r) => r.nodeId === nodeId && isMember(r));
    },

    /** Records a failover the survivor has already accepted; a no-op if the volume moved on. */
    async commitFailover(plan: FailoverPlan): Promise<{ changed: boolean }> {
      return inTransaction(db, async (tx) => {
        const volume = await lockVolume(tx, plan.volumeId);
        if (!volume || volume.epoch !== plan.fromEpoch) return { changed: false };
        await setVolumeEpoch(tx, plan.volumeId, plan.epoch, volume.ioState);
        await setReplicaMembership(tx, plan.volumeId, plan.survivor, 'primary', plan.epoch, 'in-service');
        await setReplicaState(tx, plan.volumeId, plan.leaving, 'stale');
        await recordEvent(tx, plan.volumeId, 'failover', `copy on ${plan.leaving} left the volume; ${plan.survivor} serves as primary at epoch ${plan.epoch}`);
        return { changed: true };
      });
    },

    /**
     * Is this volume incident still current? Not when the volume's epoch moved on or a member
     * serves it again (a failover won a race): then its candidates are stale, not authorities.
     */
    async incidentIsCurrent({ volumeId, epoch }: { volumeId: string; epoch: number }): Promise<boolean> {
      const volume = await getVolume(db, volumeId);
      if (!volume || volume.state === 'deleted' || volume.epoch !== epoch) return false;
      return !(await replicasOf(db, volumeId)).some((r) => isMember(r) && isHealthy(r));
    },

    /** A copy of a node that never crashed serves again as it was. */
    async recordRejoined({ volumeId, nodeId }: { volumeId: string; nodeId: string }): Promise<boolean> {
      const { rowCount } = await db.query(
        `update replicas set state = 'in-service', updated_at = now() where volume_id = $1 and node_id = $2 and state = 'recovering'`,
        [volumeId, nodeId],
      );
      return rowCount === 1; // not when a failover made the copy stale meanwhile
    },

    /** The elected copy is restored read-only: it becomes the primary, I/O is held for a decision. */
    async recordRestored({ volumeId, nodeId, writeSeq }: { volumeId: string; nodeId: string; writeSeq: number }): Promise<void> {
      await inTransaction(db, async (tx) => {
        const volume = await lockVolume(tx, volumeId);
        if (!volume) return;
        await setVolumeEpoch(tx, volumeId, volume.epoch, 'paused');
        const replicas = await replicasOf(tx, volumeId);
        // a copy elected before (and now superseded) becomes an ordinary candidate again
        for (const r of replicas.filter((r) => r.nodeId !== nodeId && isMember(r) && (r.role === 'primary' || r.state === 'restored'))) {
          await setReplicaMembership(tx, volumeId, r.nodeId, 'secondary', r.epoch, r.state === 'restored' ? 'candidate' : r.state);
        }
        await setReplicaMembership(tx, volumeId, nodeId, 'primary', volume.epoch, 'restored');
        await setReplicaState(tx, volumeId, nodeId, 'restored', writeSeq);
        await openEvent(tx, volumeId, INCONSISTENCY_EVENT, 'Awaiting Action: Enable IO');
      });
    },

    async volumeSettings({ volumeId }: { volumeId: string }): Promise<{ autoEnableIo: boolean; ioState: string; epoch: number }> {
      const volume = await getVolume(db, volumeId);
      if (!volume) throw new Error(`volume ${volumeId} not found`);
      return { autoEnableIo: volume.autoEnableIo, ioState: volume.ioState, epoch: volume.epoch };
    },

    /**
     * Records the decision the node has already applied: the restored copy is the sole primary
     * at `epoch`, I/O enabled. (Node first: an inventory epoch above every copy's would make
     * the only copy look stale.)
     */
    async recordEnabled(input: { volumeId: string; nodeId: string; epoch: number; auto: boolean; proof: string | null }): Promise<void> {
      await inTransaction(db, async (tx) => {
        const volume = await lockVolume(tx, input.volumeId);
        if (!volume) throw new Error(`volume ${input.volumeId} not found`);
        if (volume.epoch >= input.epoch) return;
        const { epoch } = input;
        await setVolumeEpoch(tx, input.volumeId, epoch, 'enabled');
        await setReplicaMembership(tx, input.volumeId, input.nodeId, 'primary', epoch, 'in-service');
        await retireOtherMembers(tx, input.volumeId, input.nodeId);
        const description = input.auto ? 'IO Auto-Enabled' : 'IO Enabled';
        await endEvent(tx, input.volumeId, INCONSISTENCY_EVENT, description, input.proof);
      });
    },
  };
}
