// Declares silent nodes down and starts their failover workflow. The workflow is started
// before the node is marked down, so a crash in between only repeats a start that is refused.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, nodeFailoverId, StorageNodeKey } from '../common/messages.js';
import type { NodeFailoverInput } from '../workflows/node-failover.js';
import { findSilentNodes, markNodeDown } from './repositories/nodes.js';
import type { Deps } from './use-cases/deps.js';

export function startHeartbeatMonitor(deps: Deps): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    checkOnce(deps)
      .catch((err: Error) => console.error(`heartbeat monitor: ${err.message}`))
      .finally(() => (running = false));
  }, deps.config.monitorIntervalMs);
  return () => clearInterval(timer);
}

export async function checkOnce(deps: Deps): Promise<void> {
  for (const node of await findSilentNodes(deps.db, deps.config.heartbeatTimeoutMs)) {
    const incident = node.incident + 1;
    const args: NodeFailoverInput = { nodeId: node.id, incident };
    try {
      await deps.temporal.workflow.start('nodeFailover', {
        workflowId: nodeFailoverId(node.id, incident),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [args],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: StorageNodeKey, value: node.id }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    await markNodeDown(deps.db, node.id, incident);
    console.log(`node ${node.id} missed its heartbeats: down (incident ${incident}), failover started`);
  }
}
