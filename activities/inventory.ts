// Activities on the control-plane inventory (Postgres): classification, membership, decisions.
import { ApplicationFailure } from '@temporalio/activity';
import { classifyReplica, type RejoinAnswer } from '../common/rules/classify.js';
import { failoverSurvivor, volumeIncidentIsCurrent } from '../common/rules/failover.js';
import { isMember } from '../common/rules/health.js';
import { placeAwayFrom, placeInOtherZone } from '../common/rules/placement.js';
import type { Classification, ScanReport, ScannedReplica } from '../common/types.js';
import { getNode, lockPlacement, placementCandidates } from '../api/repositories/nodes.js';
import { recentlyDroppedPeers } from '../api/repositories/peer-drops.js';
import { inTransaction, type Db } from '../api/repositories/db.js';
import { recordClassifications, reportPage } from '../api/repositories/recovery-reports.js';
import { endEvent, INCONSISTENCY_EVENT, openEvent, recordEvent } from '../api/repositories/events.js';
import {
  abandonRebuild,
  getVolume,
  inventoryFor,
  holdCandidate,
  lockVolume,
  lockVolumes,
  markRebuilt,
  markRejoined,
  memberVolumesOnNode,
  replicasOf,
  retireOtherMembers,
  setReplicaMembership,
  setReplicaState,
  setVolumeArchived,
  setVolumeEpoch,
  rebuildInFlight,
  setVolumeState,
  upsertReplica,
} from '../api/repositories/volumes.js';

/** How long a peer dropped from a volume stays out of that volume's placements. */
const DROPPED_PEER_AVOID_MS = 10 * 60_000;
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

/** What a server recovery keeps of a classified copy of a stored report. */
export type CopyRef = Pick<ClassifiedCopy, 'volumeId' | 'classification'>;

/**
 * Classifies a node's copies and holds its candidates in one transaction under the volumes'
 * locks: a peer's rejoin (`markRejoined`) then either came first, and this copy sees a healthy or
 * rejoining peer, or comes after, and sees the held copy and offers its own (chaos seed 131207
 * scenario 18). A copy whose peer is rejoining fails the attempt, holding nothing: the activity's
 * retry classifies the page again once that peer's node serves (`Verdict`).
 */
async function classify(db: Db, nodeId: string, crashed: boolean, replicas: ScannedReplica[]): Promise<ClassifiedCopy[]> {
  return inTransaction(db, async (tx) => {
    const volumeIds = replicas.map((r) => r.volumeId);
    await lockVolumes(tx, volumeIds);
    const inventory = await inventoryFor(tx, volumeIds);
    const verdicts = replicas.map((copy) => classifyReplica(nodeId, copy, inventory.get(copy.volumeId), crashed));
    const waiting = replicas.filter((_, i) => verdicts[i] === 'await-peer').map((r) => r.volumeId);
    if (waiting.length > 0) {
      const some = waiting.slice(0, 5).join(', ');
      throw ApplicationFailure.retryable(
        `a peer of ${some} rejoins in another incident that has not resumed its node yet`,
        'PeerRejoining',
      );
    }
    const copies = replicas.map((copy, i): ClassifiedCopy => {
      const volume = inventory.get(copy.volumeId);
      return {
        volumeId: copy.volumeId,
        classification: verdicts[i] as Classification,
        copy,
        volumeEpoch: volume?.epoch ?? copy.epoch,
        expectedNodes: volume?.members.map((m) => m.nodeId) ?? [nodeId],
      };
    });
    for (const c of copies.filter((c) => c.classification === 'candidate')) await holdCandidate(tx, c.volumeId, nodeId, c.copy.writeSeq);
    return copies;
  });
}

export function createInventoryActivities(db: Db) {
  return {
    async investigate({ nodeId, scan }: { nodeId: string; scan: ScanReport }): Promise<ClassifiedCopy[]> {
      return classify(db, nodeId, scan.crashed, scan.replicas);
    },

    /**
     * A page of a stored report: classifies its copies, records each classification beside the
     * copy for the offers to read, and answers only what the workflow decides on.
     */
    async investigateStored(input: {
      nodeId: string;
      crashed: boolean;
      reportId: string;
      offset: number;
      limit: number;
    }): Promise<CopyRef[]> {
      const copies = await classify(db, input.nodeId, input.crashed, await reportPage(db, input.reportId, input.offset, input.limit));
      await recordClassifications(db, input.reportId, copies);
      return copies.map(({ volumeId, classification }) => ({ volumeId, classification }));
    },

    async listMemberVolumes({ nodeId }: { nodeId: string }): Promise<string[]> {
      return memberVolumesOnNode(db, nodeId);
    },

    /**
     * Plans a failover away from `nodeId`: the healthy member that would serve alone at epoch+1.
     * Nothing changes yet; the survivor must accept the new epoch before the inventory does.
     */
    async planFailover({
      volumeId,
      nodeId,
      fromEpoch,
    }: {
      volumeId: string;
      nodeId: string;
      fromEpoch?: number;
    }): Promise<FailoverPlan | null> {
      const volume = await getVolume(db, volumeId);
      if (!volume || (fromEpoch !== undefined && volume.epoch !== fromEpoch)) return null;
      const survivor = failoverSurvivor(await replicasOf(db, volumeId), nodeId);
      if (!survivor) return null;
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
        const survivor = (await replicasOf(tx, plan.volumeId)).find((r) => r.nodeId === plan.survivor);
        if (survivor?.state !== 'in-service') return { changed: false }; // taken into a recovery meanwhile
        await setVolumeEpoch(tx, plan.volumeId, plan.epoch, volume.ioState);
        await setReplicaMembership(tx, plan.volumeId, plan.survivor, 'primary', plan.epoch, 'in-service');
        await setReplicaState(tx, plan.volumeId, plan.leaving, 'stale');
        await recordEvent(
          tx,
          plan.volumeId,
          'failover',
          `copy on ${plan.leaving} left the volume; ${plan.survivor} serves as primary at epoch ${plan.epoch}`,
        );
        return { changed: true };
      });
    },

    /** Is this volume incident still current (`volumeIncidentIsCurrent`)? */
    async incidentIsCurrent({ volumeId, epoch }: { volumeId: string; epoch: number }): Promise<boolean> {
      const volume = await getVolume(db, volumeId);
      return volumeIncidentIsCurrent(volume, epoch, volume ? await replicasOf(db, volumeId) : []);
    },

    /** A copy of a node that never crashed serves again as it was, unless a recovery holds a peer. */
    async recordRejoined({ volumeId, nodeId }: { volumeId: string; nodeId: string }): Promise<RejoinAnswer> {
      return markRejoined(db, volumeId, nodeId);
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
     * Records the decision the node has already applied: the restored copy is the primary at
     * `epoch`, I/O enabled, and `secondary` (a copy identical to it) its secondary. (Node first:
     * an inventory epoch above every copy's would make the only copy look stale.)
     */
    async recordEnabled(input: {
      volumeId: string;
      nodeId: string;
      epoch: number;
      auto: boolean;
      proof: string | null;
      secondary?: string;
    }): Promise<void> {
      await inTransaction(db, async (tx) => {
        const volume = await lockVolume(tx, input.volumeId);
        if (!volume) throw new Error(`volume ${input.volumeId} not found`);
        if (volume.epoch >= input.epoch) return;
        const { epoch } = input;
        await setVolumeEpoch(tx, input.volumeId, epoch, 'enabled');
        await setReplicaMembership(tx, input.volumeId, input.nodeId, 'primary', epoch, 'in-service');
        await retireOtherMembers(tx, input.volumeId, input.nodeId);
        if (input.secondary) await setReplicaMembership(tx, input.volumeId, input.secondary, 'secondary', epoch, 'in-service');
        const description = input.auto ? 'IO Auto-Enabled' : 'IO Enabled';
        await endEvent(tx, input.volumeId, INCONSISTENCY_EVENT, description, input.proof);
      });
    },

    /** Blocks a merge-restore could not repair: the volume's events say so, and it is never auto-enabled. */
    async recordUnrecoverable({ volumeId, nodeId, blocks }: { volumeId: string; nodeId: string; blocks: number[] }): Promise<void> {
      const listed = blocks.length > 20 ? `${blocks.slice(0, 20).join(', ')} and ${blocks.length - 20} more` : blocks.join(', ');
      await recordEvent(
        db,
        volumeId,
        'unrecoverable-blocks',
        `${blocks.length} blocks of the copy on ${nodeId} failed their CRC and no peer or snapshot held them: ${listed}`,
      );
    },

    async recordLateRepair({
      volumeId,
      nodeId,
      from,
      blocks,
    }: {
      volumeId: string;
      nodeId: string;
      from: string;
      blocks: number[];
    }): Promise<void> {
      await recordEvent(
        db,
        volumeId,
        'blocks-repaired',
        `${blocks.length} blocks the restore could not repair were repaired on ${nodeId} from the copy on ${from}, which returned later`,
      );
    },

    /**
     * Places a new copy away from the source: another power domain (preferably router and
     * zone), or for a transfer another zone; never a node that holds any copy of the volume.
     * Records it as `rebuilding`. Null when no node has room.
     */
    async planCopy({
      volumeId,
      source,
      otherZone,
    }: {
      volumeId: string;
      source: string;
      otherZone: boolean;
    }): Promise<{ target: string; sizeBytes: number } | null> {
      // A peer this volume's primary could not reach lately is no place for its new copy: the link may still be cut.
      const unreachable = new Set(await recentlyDroppedPeers(db, volumeId, DROPPED_PEER_AVOID_MS));
      // Chosen and reserved under the placement lock, as a create is: concurrent rebuilds spread.
      return inTransaction(db, async (tx) => {
        await lockPlacement(tx);
        const volume = await getVolume(tx, volumeId);
        const from = await getNode(tx, source);
        // One rebuild at a time: a second one would re-point the primary's mirror away from the first.
        if (!volume || !from || (await rebuildInFlight(tx, volumeId, volume.epoch))) return null;
        const holders = new Set((await replicasOf(tx, volumeId)).filter((r) => r.state !== 'deleted').map((r) => r.nodeId));
        const nodes = (await placementCandidates(tx)).filter((n) => !holders.has(n.nodeId) && !unreachable.has(n.nodeId));
        const target = (otherZone ? placeInOtherZone : placeAwayFrom)(from.domain, nodes, volume.sizeBytes, Math.random);
        if (!target) return null;
        await upsertReplica(tx, volumeId, target.nodeId, 'secondary', volume.epoch, 'rebuilding');
        return { target: target.nodeId, sizeBytes: volume.sizeBytes };
      });
    },

    /** The rebuilt copy serves as the secondary, unless the volume moved on meanwhile. */
    async recordRebuilt({ volumeId, nodeId, epoch }: { volumeId: string; nodeId: string; epoch: number }): Promise<boolean> {
      const rebuilt = await markRebuilt(db, volumeId, nodeId, epoch);
      if (rebuilt) await recordEvent(db, volumeId, 'secondary-rebuilt', `new secondary on ${nodeId} rebuilt at epoch ${epoch}`);
      return rebuilt;
    },

    /** A rebuild that cannot finish: the partial copy leaves the membership (and is deleted after). */
    async abandonCopy({ volumeId, nodeId }: { volumeId: string; nodeId: string }): Promise<void> {
      await abandonRebuild(db, volumeId, nodeId);
    },

    /**
     * A transfer's switch, after the new copy accepted `epoch` as sole primary: the volume
     * serves from it, I/O enabled; the old copy leaves the membership.
     */
    async recordTransferred(input: { volumeId: string; nodeId: string; epoch: number; by: string }): Promise<void> {
      await inTransaction(db, async (tx) => {
        const volume = await lockVolume(tx, input.volumeId);
        if (!volume || volume.epoch >= input.epoch) return;
        await setVolumeEpoch(tx, input.volumeId, input.epoch, 'enabled');
        await setReplicaMembership(tx, input.volumeId, input.nodeId, 'primary', input.epoch, 'in-service');
        await retireOtherMembers(tx, input.volumeId, input.nodeId);
        await endEvent(tx, input.volumeId, INCONSISTENCY_EVENT, `IO Enabled (transferred to ${input.nodeId})`, null);
      });
    },

    /** Archived: the bytes are in the snapshot store; the copies may go. */
    async recordArchived({ volumeId, snapshotId, by }: { volumeId: string; snapshotId: string; by: string }): Promise<void> {
      await inTransaction(db, async (tx) => {
        await setVolumeArchived(tx, volumeId, snapshotId);
        await endEvent(tx, volumeId, INCONSISTENCY_EVENT, `Archived to snapshot ${snapshotId} (${by})`, null);
      });
    },

    async recordVolumeDeleted({ volumeId, by }: { volumeId: string; by: string }): Promise<void> {
      await inTransaction(db, async (tx) => {
        await setVolumeState(tx, volumeId, 'deleted');
        await endEvent(tx, volumeId, INCONSISTENCY_EVENT, `Deleted (${by})`, null);
      });
    },

    /** Every copy the inventory still knows of, for deleting a volume or an archive. */
    async copiesOf({ volumeId }: { volumeId: string }): Promise<string[]> {
      return (await replicasOf(db, volumeId)).filter((r) => r.state !== 'deleted').map((r) => r.nodeId);
    },

    /** The copies that left the volume's membership (failed over, or replaced by a rebuilt secondary) and are still on their nodes. */
    async staleCopiesOf({ volumeId }: { volumeId: string }): Promise<string[]> {
      return (await replicasOf(db, volumeId)).filter((r) => r.state === 'stale').map((r) => r.nodeId);
    },
  };
}
