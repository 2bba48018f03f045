// The control plane's way to a storage node: its address from the inventory, its derived
// token, and the typed client (storage-node/client.ts) over them.
import { mirrorToken, nodeToken, volumeMirrorToken } from '../common/tokens.js';
import type { PeerRef } from '../common/types.js';
import { HttpStorageNode, type NodeCallOptions, type StorageNodeApi } from '../storage-node/client.js';
import type { Db } from './repositories/db.js';
import { getNode } from './repositories/nodes.js';
import { AppError } from './errors.js';

export class NodeClient {
  constructor(
    private readonly db: Db,
    private readonly clusterSecret: string,
  ) {}

  private async address(nodeId: string): Promise<string> {
    return (await this.known(nodeId)).url;
  }

  private async known(nodeId: string) {
    const node = await getNode(this.db, nodeId);
    if (!node) throw new AppError(500, 'unknown-node', `unknown node ${nodeId}`);
    return node;
  }

  /** The typed client of one node, authenticated with its node token. */
  async node(nodeId: string, opts: NodeCallOptions = {}): Promise<StorageNodeApi> {
    return this.at({ id: nodeId, url: await this.address(nodeId) }, opts);
  }

  /** The same, for a node whose inventory row the caller already read. */
  at(node: { id: string; url: string }, opts: NodeCallOptions = {}): StorageNodeApi {
    return new HttpStorageNode(node.url, nodeToken(this.clusterSecret, node.id), opts);
  }

  /**
   * What a primary needs to mirror `volumeId` to `nodeId` at `epoch`: the address (its TLS peer
   * port when it registered one) and a token that node accepts for that volume at that epoch
   * only. Every change of a primary's epoch sends it a new peer ref (or none).
   */
  async peerRef(nodeId: string, volumeId: string, epoch: number): Promise<PeerRef> {
    const token = volumeMirrorToken(mirrorToken(this.clusterSecret, nodeId), volumeId, epoch);
    const node = await this.known(nodeId);
    return { nodeId, url: node.peerUrl || node.url, token };
  }
}
