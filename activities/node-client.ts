// Calls a storage node's endpoints as the control plane, with the node's derived token.
import { Context } from '@temporalio/activity';
import { requestJson, type RequestOptions } from '../common/http.js';
import { nodeToken } from '../common/tokens.js';
import type { PeerRef } from '../common/types.js';
import type { Db } from '../api/repositories/db.js';
import { getNode } from '../api/repositories/nodes.js';

export class NodeClient {
  constructor(
    private readonly db: Db,
    private readonly clusterSecret: string,
  ) {}

  async peerRef(nodeId: string): Promise<PeerRef> {
    const node = await getNode(this.db, nodeId);
    if (!node) throw new Error(`unknown node ${nodeId}`);
    return { nodeId, url: node.url, token: nodeToken(this.clusterSecret, nodeId) };
  }

  /** A call made from inside an activity carries an idempotency key unique to that activity. */
  async call<T>(nodeId: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const peer = await this.peerRef(nodeId);
    const headers = { ...opts.headers, 'idempotency-key': activityIdempotencyKey() };
    return requestJson<T>(`${peer.url}${path}`, { timeoutMs: 30_000, ...opts, token: peer.token, headers });
  }
}

/** Built from the workflow run and the activity id, so a retried activity repeats the same key. */
export function activityIdempotencyKey(): string {
  const { workflowExecution, activityId } = Context.current().info;
  return `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
}
