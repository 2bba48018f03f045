// What a storage node does, independent of HTTP: block I/O with synchronous mirroring,
// holding of paused I/O, and the idempotent operations recovery activities call.
import { randomUUID } from 'node:crypto';
import { BLOCK_SIZE, type IoState, type PeerRef, type ReplicaRole, type ScanReport, type ScannedReplica } from '../common/types.js';
import { HttpError, request, sleep } from '../common/http.js';
import { checkRange, type BlockSpan } from './protocol/block-range.js';
import { VolumeDeletedError } from './store/io-gate.js';
import type { HostedVolume, NodeStore } from './store/node-store.js';

/** A failure with an HTTP status and a stable code, answered as `{error:{code,message}}`. */
export class NodeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CreateVolumeInput {
  volumeId: string;
  sizeBytes: number;
  role: ReplicaRole;
  epoch: number;
  peer: PeerRef | null;
}

export interface ConfigInput {
  role: ReplicaRole;
  epoch: number;
  peer: PeerRef | null;
}

const MIRROR_RETRY_MS = 100;

export class NodeService {
  recovering = false;
  /** Each volume's verification at the last recovery scan, valid while its I/O stays held. */
  private readonly verified = new Map<string, { badBlocks: number[]; digest: string }>();
  /** Changes with every process start: a caller waiting on a held request can tell a restart. */
  readonly bootId = randomUUID();

  constructor(
    readonly nodeId: string,
    readonly store: NodeStore,
    readonly capacityBytes: number,
  ) {}

  hosted(volumeId: string): HostedVolume {
    const hosted = this.store.get(volumeId);
    if (!hosted) throw new NodeError(404, 'volume-not-found', `volume ${volumeId} is not on node ${this.nodeId}`);
    return hosted;
  }

  span(hosted: HostedVolume, offset: number, length: number): BlockSpan {
    const span = checkRange(offset, length, hosted.volume.meta.sizeBytes);
    if (typeof span === 'string') throw new NodeError(400, 'bad-range', span);
    return span;
  }

  async createVolume(input: CreateVolumeInput): Promise<ScannedReplica> {
    const existing = this.store.get(input.volumeId);
    if (existing) return this.describe(existing);
    if (this.recovering) throw new NodeError(503, 'node-recovering', 'node is recovering; no new volumes yet');
    if (input.sizeBytes % BLOCK_SIZE !== 0) throw new NodeError(400, 'bad-size', `size must be a multiple of ${BLOCK_SIZE}`);
    if (this.store.usedBytes() + input.sizeBytes > this.capacityBytes) {
      throw new NodeError(507, 'insufficient-capacity', `node ${this.nodeId} has no room for ${input.sizeBytes} bytes`);
    }
    const hosted = await this.store.create({
      ...input,
      ioState: 'enabled',
      mode: 'normal',
      createdAt: new Date().toISOString(),
    });
    await this.store.logOperation('create', input.volumeId, { role: input.role, epoch: input.epoch });
    return this.describe(hosted);
  }

  async read(volumeId: string, offset: number, length: number): Promise<Buffer> {
    const hosted = this.hosted(volumeId);
    const span = this.span(hosted, offset, length);
    return hosted.gate.admit(async () => {
      this.requirePrimary(hosted);
      return hosted.volume.read(span);
    });
  }

  /** Review read: no gate, so it works while I/O is held. The grant was checked by the caller. */
  async reviewRead(volumeId: string, offset: number, length: number): Promise<Buffer> {
    const hosted = this.hosted(volumeId);
    return hosted.volume.read(this.span(hosted, offset, length));
  }

  /** A customer write: applied locally, mirrored to the secondary, then acknowledged. */
  async write(volumeId: string, offset: number, payload: Buffer): Promise<number> {
    const hosted = this.hosted(volumeId);
    const span = this.span(hosted, offset, payload.length);
    return hosted.gate.admit(async () => {
      this.requirePrimary(hosted);
      const seq = await hosted.volume.write(span, payload);
      await this.mirror(hosted, span, payload, seq);
      return seq;
    });
  }

  /** The secondary's half of a write: applied only in sequence, at the sender's epoch. */
  async applyMirror(volumeId: string, epoch: number, seq: number, offset: number, payload: Buffer): Promise<number> {
    const hosted = this.hosted(volumeId);
    const span = this.span(hosted, offset, payload.length);
    return hosted.gate.serial(async () => {
      const { volume } = hosted;
      if (epoch !== volume.meta.epoch || volume.meta.role !== 'secondary') {
        throw new NodeError(409, 'stale-epoch', `mirror at epoch ${epoch} refused: copy is ${volume.meta.role} at epoch ${volume.meta.epoch}`);
      }
      if (seq <= volume.writeSeq) return volume.writeSeq;
      if (seq !== volume.writeSeq + 1) throw new NodeError(409, 'sequence-gap', `expected write ${volume.writeSeq + 1}, got ${seq}`);
      return volume.write(span, payload);
    });
  }

  /**
   * Keeps trying the peer until it acknowledges, the control plane removes it from the volume
   * (failover: the write is then acknowledged by this copy alone), or the volume is deleted.
   */
  private async mirror(hosted: HostedVolume, span: BlockSpan, payload: Buffer, seq: number): Promise<void> {
    for (;;) {
      const { peer, epoch, volumeId } = hosted.volume.meta;
      if (!peer) return;
      if (!this.store.get(volumeId)) throw new VolumeDeletedError(volumeId);
      const url = `${peer.url}/v1/volumes/${volumeId}/mirror?offset=${span.offset}&seq=${seq}&epoch=${epoch}`;
      try {
        await request(url, { method: 'PUT', token: peer.token, raw: payload, timeoutMs: 5000 });
        return;
      } catch (err) {
        if (err instanceof HttpError && err.code === 'stale-epoch') {
          throw new NodeError(409, 'not-primary', `volume ${volumeId} was failed over; this copy is fenced`);
        }
        await sleep(MIRROR_RETRY_MS);
      }
    }
  }

  private requirePrimary(hosted: HostedVolume): void {
    const { role, volumeId } = hosted.volume.meta;
    if (role !== 'primary') throw new NodeError(409, 'not-primary', `this copy of ${volumeId} is not the primary`);
  }

  /**
   * Membership change from the control plane; never goes back to an older epoch. A recovering
   * node refuses: its copies are under investigation and must not be promoted meanwhile.
   */
  async configure(volumeId: string, input: ConfigInput): Promise<ScannedReplica> {
    if (this.recovering) throw new NodeError(503, 'node-recovering', `node ${this.nodeId} is recovering; its copies cannot take over`);
    return this.applyConfig(volumeId, input);
  }

  private async applyConfig(volumeId: string, input: ConfigInput): Promise<ScannedReplica> {
    const hosted = this.hosted(volumeId);
    const { meta } = hosted.volume;
    if (input.epoch < meta.epoch) {
      throw new NodeError(409, 'stale-epoch', `config at epoch ${input.epoch} is older than the copy's epoch ${meta.epoch}`);
    }
    await hosted.volume.saveMeta({ role: input.role, epoch: input.epoch, peer: input.peer });
    await this.store.logOperation('configure', volumeId, { role: input.role, epoch: input.epoch, peer: input.peer?.nodeId ?? null });
    return this.describe(hosted);
  }

  async setIo(volumeId: string, state: IoState): Promise<ScannedReplica> {
    const hosted = this.hosted(volumeId);
    await hosted.volume.saveMeta({ ioState: state });
    if (state === 'enabled') hosted.gate.open();
    else hosted.gate.pause();
    await this.store.logOperation(state === 'enabled' ? 'resume-io' : 'pause-io', volumeId);
    return this.describe(hosted);
  }

  /** Brings the elected copy back read-only: sole member, primary, I/O held for review. */
  async restore(volumeId: string): Promise<ScannedReplica> {
    const startedAt = new Date().toISOString();
    const hosted = this.hosted(volumeId);
    hosted.gate.pause();
    await hosted.volume.saveMeta({ mode: 'restored', ioState: 'paused', role: 'primary', peer: null });
    // I/O has been held since the recovery scan, so its verification still holds.
    const verified = this.verified.get(volumeId) ?? (await hosted.volume.verify());
    await this.store.logOperation('restore', volumeId, { writeSeq: hosted.volume.writeSeq, startedAt });
    return this.describe(hosted, verified);
  }

  /** After a decision: the copy serves again as primary at the new epoch; held I/O is released in order. */
  async enable(volumeId: string, epoch: number): Promise<ScannedReplica> {
    await this.applyConfig(volumeId, { role: 'primary', epoch, peer: null });
    const hosted = this.hosted(volumeId);
    await hosted.volume.saveMeta({ mode: 'normal' });
    return this.setIo(volumeId, 'enabled');
  }

  async delete(volumeId: string): Promise<{ deleted: boolean }> {
    const deleted = await this.store.delete(volumeId);
    if (deleted) await this.store.logOperation('delete', volumeId);
    return { deleted };
  }

  async digest(volumeId: string): Promise<{ digest: string; epoch: number; writeSeq: number }> {
    const hosted = this.hosted(volumeId);
    const { epoch } = hosted.volume.meta;
    return hosted.gate.serial(async () => ({ digest: await hosted.volume.digest(), epoch, writeSeq: hosted.volume.writeSeq }));
  }

  /** Holds every hosted volume's I/O; the start of a node's recovery. */
  async holdAll(): Promise<void> {
    this.recovering = true;
    this.verified.clear();
    for (const hosted of this.store.volumes.values()) {
      hosted.gate.pause();
      await hosted.volume.saveMeta({ ioState: 'paused' });
    }
  }

  async scan(crashed: boolean): Promise<ScanReport> {
    const replicas: ScannedReplica[] = [];
    for (const [volumeId, hosted] of this.store.volumes) {
      const verified = await hosted.volume.verify();
      this.verified.set(volumeId, verified);
      replicas.push(this.describe(hosted, verified));
    }
    return { nodeId: this.nodeId, scannedAt: new Date().toISOString(), crashed, replicas };
  }

  async resumeService(): Promise<{ recovering: boolean }> {
    if (this.recovering) await this.store.logOperation('resume-service', '-');
    this.recovering = false;
    return { recovering: false };
  }

  describe(hosted: HostedVolume, verified: { badBlocks: number[]; digest: string } = { badBlocks: [], digest: '' }): ScannedReplica {
    const { meta } = hosted.volume;
    return { volumeId: meta.volumeId, sizeBytes: meta.sizeBytes, role: meta.role, epoch: meta.epoch, writeSeq: hosted.volume.writeSeq, ...verified };
  }

  status(volumeId: string): Record<string, unknown> {
    const hosted = this.hosted(volumeId);
    const { meta } = hosted.volume;
    return { ...meta, peer: meta.peer?.nodeId ?? null, writeSeq: hosted.volume.writeSeq, heldRequests: hosted.gate.heldCount, dirtyBlocks: hosted.volume.dirty.count() };
  }
}
