// Activities of a node incident's lifecycle: putting the node back in service (only the newest
// incident may), the configuration phase's re-read of the inventory, and the incident's end.
import { Context } from '@temporalio/activity';
import { HttpError } from '../common/http.js';
import { mayMoveNode, reconcile, type Reconciled } from '../common/rules/incidents.js';
import type { NodeClient } from '../api/node-client.js';
import { inTransaction, type Db, type Tx } from '../api/repositories/db.js';
import { setNodeState } from '../api/repositories/nodes.js';
import { lockAdmission, markFinished, markInService, newestIncidentOf, recoveryByWorkflow } from '../api/repositories/recoveries.js';
import { forgetOffers, resolvedOffers } from '../api/repositories/incident-offers.js';
import { copyStatesOn } from '../api/repositories/volumes.js';

async function mayMove(db: Db | Tx, nodeId: string, workflowId: string): Promise<boolean> {
  const incident = await recoveryByWorkflow(db, workflowId);
  if (!incident) return true; // admitted before incidents were recorded by workflow id
  return mayMoveNode(incident.id, await newestIncidentOf(db, nodeId), incident.supersededAt !== null);
}

export function createIncidentActivities(db: Db, client: NodeClient) {
  return {
    /**
     * The node leaves recovery, if this incident is still its newest: the node itself refuses a
     * scan older than its current one (409 superseded-scan), and the inventory moves under the
     * admission lock. `resumed: false` leaves the node to its newer incident.
     */
    async resumeNodeService(input: { nodeId: string; workflowId: string; scannedAt?: string }): Promise<{ resumed: boolean }> {
      const { nodeId, workflowId, scannedAt } = input;
      const log = Context.current().log;
      if (!(await mayMove(db, nodeId, workflowId))) {
        log.info(`${nodeId}: incident superseded; the node is left to its newer incident`, { nodeId });
        return { resumed: false };
      }
      try {
        await (await client.node(nodeId)).resumeService(scannedAt);
      } catch (err) {
        if (err instanceof HttpError && err.code === 'superseded-scan') {
          log.info(`${nodeId} scanned anew since this incident: left to its newer incident`, { nodeId });
          return { resumed: false };
        }
        throw err;
      }
      const resumed = await inTransaction(db, async (tx) => {
        await lockAdmission(tx);
        if (!(await mayMove(tx, nodeId, workflowId))) return false;
        await setNodeState(tx, nodeId, 'in-service');
        await markInService(tx, workflowId);
        return true;
      });
      if (resumed) log.info(`${nodeId} back in service`, { nodeId });
      return { resumed };
    },

    /**
     * What a waiting configuration phase finds in the inventory: superseded by a newer incident of
     * its node, or which of the volumes it waits for still hold this node's copy undecided.
     */
    async reconcileIncident(input: { nodeId: string; workflowId: string; volumeIds: string[] }): Promise<Reconciled> {
      const incident = await recoveryByWorkflow(db, input.workflowId);
      const superseded = incident?.supersededAt ? { by: incident.supersededBy } : null;
      const [states, resolved] = await Promise.all([
        copyStatesOn(db, input.nodeId, input.volumeIds),
        resolvedOffers(db, input.workflowId, input.volumeIds),
      ]);
      return reconcile(
        superseded,
        input.volumeIds.map((volumeId) => ({
          volumeId,
          volume: states.get(volumeId)?.volume ?? null,
          copy: states.get(volumeId)?.copy ?? null,
          resolved: resolved.has(volumeId),
        })),
      );
    },

    /** The incident's workflow ended (every candidate settled, or superseded). */
    async finishIncident({ workflowId }: { workflowId: string }): Promise<void> {
      await markFinished(db, workflowId);
      await forgetOffers(db, workflowId);
    },
  };
}
