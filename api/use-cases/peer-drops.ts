// A primary that cannot reach its secondary asks to serve alone. The control plane checks who
// asks (`peerDropRefusal`) and the fleet (`holdsPeerDrops`), then a peerDrop workflow fails the
// volume over away from the secondary: the primary serves alone at epoch+1, a new secondary is
// rebuilt, and the stale copy is deleted.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { CONTROL_TASK_QUEUE, peerDropId, VolumeIdKey } from '../../common/messages.js';
import { holdsPeerDrops, peerDropRefusal } from '../../common/rules/peer-drop.js';
import { peerDrop, type PeerDropInput } from '../../workflows/peer-drop.js';
import { AppError } from '../errors.js';
import { breakerHolds } from '../mass-outage.js';
import { findSilentNodes, listNodes } from '../repositories/nodes.js';
import { markPeerDropStarted, recentlyAccused, recordPeerDrop } from '../repositories/peer-drops.js';
import { readThrottle } from '../repositories/settings.js';
import { getVolume, replicasOf } from '../repositories/volumes.js';
import type { Deps } from './deps.js';

export const PeerDropBody = z.strictObject({
  volumeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  epoch: z.number().int().positive(),
  peer: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
});

/** Requests stay counted by the breaker this many heartbeat timeouts; a stalled primary repeats its request sooner. */
const ACCUSATION_TIMEOUTS = 3;

export async function requestPeerDrop(deps: Deps, nodeId: string, body: z.infer<typeof PeerDropBody>): Promise<{ workflowId: string }> {
  const request = { requester: nodeId, peer: body.peer, epoch: body.epoch };
  const volume = await getVolume(deps.db, body.volumeId);
  const refusal = peerDropRefusal(request, volume, await replicasOf(deps.db, body.volumeId));
  if (refusal === 'volume-gone') throw new AppError(404, 'not-found', `volume ${body.volumeId} is gone`);
  if (refusal)
    throw new AppError(409, refusal, `node ${nodeId} may not drop ${body.peer} from ${body.volumeId} at epoch ${body.epoch}: ${refusal}`);
  await recordPeerDrop(deps.db, { volumeId: body.volumeId, ...request });
  if (await fleetHolds(deps)) {
    throw new AppError(503, 'mass-outage', 'too many nodes are unreachable at once; the write waits until the network returns', {
      'retry-after': String(deps.config.retryAfterSeconds),
    });
  }
  const workflowId = peerDropId(body.volumeId, body.epoch);
  const args: PeerDropInput = { volumeId: body.volumeId, ...request };
  try {
    await deps.temporal.workflow.start(peerDrop, {
      workflowId,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [args],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `Drop ${body.peer} from ${body.volumeId}: its primary ${nodeId} cannot reach it and serves alone at epoch ${body.epoch + 1}`,
      typedSearchAttributes: [{ key: VolumeIdKey, value: body.volumeId }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  await markPeerDropStarted(deps.db, body.volumeId, body.epoch, workflowId);
  return { workflowId };
}

async function fleetHolds(deps: Deps): Promise<boolean> {
  const { heartbeatTimeoutMs } = deps.config;
  const [nodes, suspects, accused, throttle] = await Promise.all([
    listNodes(deps.db),
    findSilentNodes(deps.db, heartbeatTimeoutMs / 2),
    recentlyAccused(deps.db, ACCUSATION_TIMEOUTS * heartbeatTimeoutMs),
    readThrottle(deps.db, deps.config),
  ]);
  const fleet = {
    suspects: suspects.map((n) => n.id),
    down: nodes.filter((n) => n.state === 'down').map((n) => n.id),
    accused,
    total: nodes.length,
  };
  return breakerHolds(deps, holdsPeerDrops(fleet, throttle.massOutageShare));
}
