// The control plane's calls to storage nodes, authenticated with each node's derived token.
import { requestBytes, requestJson, type RequestOptions } from '../common/http.js';
import { mirrorToken, nodeToken } from '../common/tokens.js';
import type { PeerRef } from '../common/types.js';
import type { Db } from './repositories/db.js';
import { getNode } from './repositories/nodes.js';
import { AppError } from './errors.js';

export class NodeClient {
  constructor(
    private readonly db: Db,
    private readonly clusterSecret: string,
  ) {}

  private async address(nodeId: string): Promise<string> {
    const node = await getNode(this.db, nodeId);
    if (!node) throw new AppError(500, 'unknown-node', `unknown node ${nodeId}`);
    return node.url;
  }

  /** What a primary needs to mirror to `nodeId`: its address and its mirror-only token. */
  async peerRef(nodeId: string): Promise<PeerRef> {
    return { nodeId, url: await this.address(nodeId), token: mirrorToken(this.clusterSecret, nodeId) };
  }

  async bytes(nodeId: string, path: string): Promise<Buffer> {
    return requestBytes(`${await this.address(nodeId)}${path}`, { timeoutMs: 8_000, token: nodeToken(this.clusterSecret, nodeId) });
  }

  /** `idempotencyKey` makes a retried mutation return its first answer. */
  async call<T>(nodeId: string, path: string, opts: RequestOptions & { idempotencyKey?: string } = {}): Promise<T> {
    const url = await this.address(nodeId);
    const headers = { ...opts.headers, ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}) };
    return requestJson<T>(`${url}${path}`, { timeoutMs: 8_000, ...opts, token: nodeToken(this.clusterSecret, nodeId), headers });
  }
}
