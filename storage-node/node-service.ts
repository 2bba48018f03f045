// What a storage node does, independent of HTTP: block I/O with synchronous mirroring,
// holding of paused I/O, and the idempotent operations recovery activities call.
import { randomUUID } from 'node:crypto';
import { BLOCK_SIZE, type IoState, type PeerRef, type ReplicaRole, type RestoredReplica, type ScanReport, type ScannedReplica } from '../common/types.js';
import { HttpError, request, requestJson, sleep } from '../common/http.js';
import { summarize, type SnapshotManifest, type SnapshotSummary } from '../snapshot-store/manifest.js';
import type { SnapshotStore } from '../snapshot-store/store.js';
import { checkRange, type BlockSpan } from './protocol/block-range.js';
import { crc32c } from './protocol/crc32c.js';
import { VolumeDeletedError } from './store/io-gate.js';
import { mergeRestore } from './store/merge.js';
import type { HostedVolume, NodeStore } from './store/node-store.js';
import { captureSnapshot, hydrateFromSnapshot } from './store/snapshot-io.js';
import { ZERO_BLOCK_CRC, type Verification, type Volume } from './store/volume.js';

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
  /** Fill the new copy from this snapshot. */
  source?: { volumeId: string; snapshotId: string };
  /** A new secondary that a primary will rebuild: accepts mirrored writes at any sequence number. */
  rebuilding?: boolean;
}

export interface RebuildTarget {
  nodeId: string;
  epoch: number;
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
  private readonly verified = new Map<string, Verification>();
  /** Blocks a restore could not repair and no write has covered since: a late twin may still repair them. */
  private readonly unrepaired = new Map<string, Set<number>>();
  /** Long operations in progress, so a retried call joins the running one. */
  private readonly running = new Map<string, Promise<unknown>>();
  /** Changes with every process start: a caller waiting on a held request can tell a restart. */
  readonly bootId = randomUUID();

  constructor(
    readonly nodeId: string,
    readonly store: NodeStore,
    readonly capacityBytes: number,
    readonly snapshots: SnapshotStore,
  ) {}

  private join<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing as Promise<T>;
    const run = fn().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

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
    const source = input.source ? await this.snapshots.getManifest(input.source.volumeId, input.source.snapshotId) : null;
    if (input.source && (!source || source.sizeBytes !== input.sizeBytes)) {
      throw new NodeError(404, 'snapshot-not-found', `snapshot ${input.source.snapshotId} of ${input.source.volumeId} (${input.sizeBytes} bytes) is not in the store`);
    }
    if (existing) return source ? this.hydrate(existing, source) : this.describe(existing);
    if (this.recovering) throw new NodeError(503, 'node-recovering', 'node is recovering; no new volumes yet');
    if (input.sizeBytes % BLOCK_SIZE !== 0) throw new NodeError(400, 'bad-size', `size must be a multiple of ${BLOCK_SIZE}`);
    if (this.store.usedBytes() + input.sizeBytes > this.capacityBytes) {
      throw new NodeError(507, 'insufficient-capacity', `node ${this.nodeId} has no room for ${input.sizeBytes} bytes`);
    }
    const { volumeId, sizeBytes, role, epoch, peer } = input;
    const hosted = await this.store.create({
      volumeId, sizeBytes, role, epoch, peer,
      ioState: 'enabled',
      mode: input.rebuilding ? 'rebuilding' : 'normal',
      createdAt: new Date().toISOString(),
      baseSnapshotId: null,
    });
    await this.store.logOperation('create', volumeId, { role, epoch, source: input.source?.snapshotId ?? null, rebuilding: !!input.rebuilding });
    return source ? this.hydrate(hosted, source) : this.describe(hosted);
  }

  /** Fills a new copy from a snapshot; a copy that a crash left half-filled is filled again. */
  private async hydrate(hosted: HostedVolume, manifest: SnapshotManifest): Promise<ScannedReplica> {
    const { volume } = hosted;
    if (volume.meta.baseSnapshotId === manifest.snapshotId || volume.writeSeq > 0) return this.describe(hosted);
    await this.join(`hydrate:${volume.meta.volumeId}`, () => hosted.gate.serial(() => hydrateFromSnapshot(volume, this.snapshots, manifest)));
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
      for (let b = span.firstBlock; b <= span.lastBlock; b++) this.unrepaired.get(volumeId)?.delete(b);
      await this.mirror(hosted, span, payload, seq);
      return seq;
    });
  }

  /** Makes every write answered so far durable (an NBD FLUSH or FUA), whatever NODE_FSYNC says; ordered after them, never held. */
  async flush(volumeId: string): Promise<void> {
    const hosted = this.hosted(volumeId);
    await hosted.gate.serial(() => hosted.volume.sync());
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
      if (volume.meta.mode === 'rebuilding') return this.applyRebuildWrite(volume, span, payload, seq);
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
   * node refuses: its copies are under investigation and must not be promoted meanwhile. After
   * the node resumes service, a copy still held for its volume's recovery (scanned, neither
   * enabled nor deleted since; or, after a restart, persisted as paused, restored or rebuilding)
   * refuses a failover: only its volume recovery decides for it.
   */
  async configure(volumeId: string, input: ConfigInput, failover = false): Promise<ScannedReplica> {
    if (this.recovering) throw new NodeError(503, 'node-recovering', `node ${this.nodeId} is recovering; its copies cannot take over`);
    const held = this.store.get(volumeId)?.volume.meta;
    if (failover && (this.verified.has(volumeId) || held?.ioState === 'paused' || held?.mode !== 'normal')) {
      throw new NodeError(409, 'copy-recovering', `the copy of ${volumeId} on ${this.nodeId} is held for its volume's recovery; it cannot take over in a failover`);
    }
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
    if (state === 'enabled') this.verified.delete(volumeId);
    await hosted.volume.saveMeta({ ioState: state });
    if (state === 'enabled') hosted.gate.open();
    else hosted.gate.pause();
    await this.store.logOperation(state === 'enabled' ? 'resume-io' : 'pause-io', volumeId);
    return this.describe(hosted);
  }

  /**
   * Brings the elected copy back read-only — sole member, primary, I/O held for review — as
   * the merge of its base snapshot and its verified dirty blocks, bad blocks repaired from
   * `repairs` (peer data) or the snapshot where they can be.
   */
  async restore(volumeId: string, repairs: Map<number, Buffer>): Promise<RestoredReplica> {
    const startedAt = new Date().toISOString();
    const hosted = this.hosted(volumeId);
    hosted.gate.pause();
    await hosted.volume.saveMeta({ mode: 'restored', ioState: 'paused', role: 'primary', peer: null });
    return this.join(`restore:${volumeId}`, () => hosted.gate.serial(async () => {
      const { volume } = hosted;
      // I/O has been held since the recovery scan, so its verification still holds.
      const scan = this.verified.get(volumeId) ?? (await volume.verify());
      const base = volume.meta.baseSnapshotId ? await this.snapshots.getManifest(volumeId, volume.meta.baseSnapshotId) : null;
      const merged = await mergeRestore(volume, this.snapshots, base ?? (volume.meta.baseSnapshotId ? 'lost' : 'zeros'), scan, repairs);
      this.verified.set(volumeId, merged);
      this.unrepaired.set(volumeId, new Set(merged.badBlocks));
      const { repairedFromPeer, repairedFromSnapshot, blocksFromBase } = merged;
      await this.store.logOperation('restore', volumeId, { writeSeq: volume.writeSeq, startedAt, repairedFromPeer, repairedFromSnapshot, unrecoverable: merged.badBlocks.length });
      return {
        ...this.describe(hosted, merged), repairedFromPeer, repairedFromSnapshot, blocksFromBase, unrecoverableBlocks: merged.badBlocks,
        base: base ? { snapshotId: base.snapshotId, writeSeq: base.writeSeq, digest: base.digest } : null,
      };
    }));
  }

  /**
   * A late repair, after a decision: each block a restore could not repair, from a twin that
   * returned since, unless a write covered the block meanwhile (then the twin's is older).
   */
  async repair(volumeId: string, repairs: Map<number, Buffer>): Promise<{ repaired: number[] }> {
    const hosted = this.hosted(volumeId);
    return hosted.gate.serial(async () => {
      const open = this.unrepaired.get(volumeId) ?? new Set<number>();
      const repaired = [...repairs.keys()].filter((b) => open.has(b)).sort((a, b) => a - b);
      for (const b of repaired) {
        await hosted.volume.writeBlocks(b, repairs.get(b)!);
        await hosted.volume.markDirty(b, b); // differs from any snapshot taken while it was bad
        open.delete(b);
      }
      await hosted.volume.sync();
      if (repaired.length > 0) await this.store.logOperation('repair', volumeId, { blocks: repaired });
      return { repaired };
    });
  }

  /** Blocks for a peer's repair, only when every one's CRC verifies. */
  async verifiedBlocks(volumeId: string, first: number, count: number): Promise<Buffer> {
    const hosted = this.hosted(volumeId);
    const span = this.span(hosted, first * BLOCK_SIZE, count * BLOCK_SIZE);
    return hosted.gate.serial(async () => {
      const bytes = await hosted.volume.read(span);
      for (let b = 0; b < count; b++) {
        if (crc32c(bytes, b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE) !== hosted.volume.crcOf(first + b)) {
          throw new NodeError(409, 'bad-block', `block ${first + b} of ${volumeId} fails its CRC on ${this.nodeId}`);
        }
      }
      return bytes;
    });
  }

  /**
   * An incremental snapshot to the durable store; writes wait meanwhile (held, not failed).
   * A copy with unrecoverable blocks is snapshotted as it is (an archive must not fail on
   * them); its events already list those blocks.
   */
  async snapshot(volumeId: string, snapshotId: string): Promise<SnapshotSummary> {
    const hosted = this.hosted(volumeId);
    return this.join(`snapshot:${snapshotId}`, () => hosted.gate.serial(async () => {
      const manifest = await captureSnapshot(hosted.volume, this.snapshots, snapshotId);
      await this.store.logOperation('snapshot', volumeId, { snapshotId, writeSeq: manifest.writeSeq, uploadedChunks: manifest.uploadedChunks });
      return summarize(manifest);
    }));
  }

  /**
   * Rebuilding a new secondary, step 2 of 3 (step 1 makes it this copy's peer, so writes from
   * then on are mirrored): copies one range, ordered with writes so a copied range never
   * overwrites a newer mirrored write. All-zero ranges are skipped (the new copy is sparse).
   */
  async copyRange(volumeId: string, target: RebuildTarget, offset: number, length: number): Promise<{ copiedBytes: number }> {
    const hosted = this.hosted(volumeId);
    const span = this.span(hosted, offset, length);
    return hosted.gate.serial(async () => {
      const peer = this.rebuildPeer(hosted, target);
      const bytes = await hosted.volume.read(span);
      const crcs = hosted.volume.crcsOf(span.firstBlock, span.lastBlock - span.firstBlock + 1);
      if (bytes.every((b) => b === 0) && crcs.every((c) => c === ZERO_BLOCK_CRC)) return { copiedBytes: 0 };
      await request(`${peer.url}/v1/volumes/${volumeId}/rebuild?offset=${offset}&epoch=${hosted.volume.meta.epoch}`, {
        method: 'PUT', token: peer.token, raw: bytes, timeoutMs: 30_000, headers: { 'x-block-crcs': Buffer.from(crcs.buffer).toString('base64') },
      });
      return { copiedBytes: bytes.length };
    });
  }

  /** Step 3: the new secondary takes this copy's writeSeq, dirty bitmap and base snapshot, and serves. */
  async finishRebuild(volumeId: string, target: RebuildTarget): Promise<{ writeSeq: number }> {
    const hosted = this.hosted(volumeId);
    return hosted.gate.serial(async () => {
      const peer = this.rebuildPeer(hosted, target);
      const { volume } = hosted;
      const body = { epoch: volume.meta.epoch, writeSeq: volume.writeSeq, dirty: Buffer.from(volume.dirty.bytes).toString('base64'), baseSnapshotId: volume.meta.baseSnapshotId ?? null };
      await requestJson(`${peer.url}/v1/volumes/${volumeId}/rebuild/finish`, { method: 'POST', token: peer.token, body, timeoutMs: 30_000 });
      return { writeSeq: volume.writeSeq };
    });
  }

  /** The copy's peer, if it is the rebuild's target at the rebuild's epoch (a stale rebuild must not touch a newer one's). */
  private rebuildPeer(hosted: HostedVolume, target: RebuildTarget): PeerRef {
    const { peer, role, volumeId, epoch } = hosted.volume.meta;
    if (role !== 'primary' || peer?.nodeId !== target.nodeId || epoch !== target.epoch) {
      throw new NodeError(409, 'not-rebuilding-target', `this copy of ${volumeId} does not rebuild ${target.nodeId} at epoch ${target.epoch}`);
    }
    return peer;
  }

  /** The new secondary's side of a rebuild: a copied range, at the volume's epoch. */
  /** `crcs`: the source's stored CRCs, so a block that fails its CRC there fails it here too. */
  async applyRebuildRange(volumeId: string, epoch: number, offset: number, payload: Buffer, crcs: Uint32Array): Promise<void> {
    const hosted = this.rebuilding(volumeId, epoch);
    const span = this.span(hosted, offset, payload.length);
    if (span.offset % BLOCK_SIZE !== 0 || payload.length % BLOCK_SIZE !== 0 || crcs.length !== payload.length / BLOCK_SIZE) {
      throw new NodeError(400, 'bad-rebuild-range', 'a rebuild range is whole blocks with one CRC each');
    }
    await hosted.gate.serial(() => hosted.volume.writeBlocks(span.firstBlock, payload, crcs));
  }

  async completeRebuild(volumeId: string, input: { epoch: number; writeSeq: number; dirty: string; baseSnapshotId: string | null }): Promise<ScannedReplica> {
    const hosted = this.store.get(volumeId);
    if (hosted?.volume.meta.mode === 'normal' && hosted.volume.meta.epoch === input.epoch) return this.describe(hosted);
    const target = this.rebuilding(volumeId, input.epoch);
    await target.gate.serial(async () => {
      await target.volume.resetDirty(Buffer.from(input.dirty, 'base64'));
      await target.volume.setWriteSeq(input.writeSeq);
      await target.volume.saveMeta({ mode: 'normal', baseSnapshotId: input.baseSnapshotId });
    });
    await this.store.logOperation('rebuilt', volumeId, { writeSeq: input.writeSeq });
    return this.describe(target);
  }

  /**
   * The copy a rebuild writes to. Also a finished one: a range is read under the source's
   * write order, so writing it again (a retried activity) never moves data backwards.
   */
  private rebuilding(volumeId: string, epoch: number): HostedVolume {
    const hosted = this.hosted(volumeId);
    const { mode, role, epoch: own } = hosted.volume.meta;
    if (mode === 'restored' || role !== 'secondary' || epoch !== own) {
      throw new NodeError(409, 'not-rebuilding', `copy of ${volumeId} is a ${mode} ${role} at epoch ${own}, not rebuilding at ${epoch}`);
    }
    return hosted;
  }

  /** A mirrored write during a rebuild: applied, but the writeSeq stays 0 until the copy is complete. */
  private async applyRebuildWrite(volume: Volume, span: BlockSpan, payload: Buffer, seq: number): Promise<number> {
    await volume.write(span, payload, false);
    return seq;
  }

  /** After a decision: the copy serves again (with `peer`: mirroring to it) as primary at the new epoch; held I/O is released in order. */
  async enable(volumeId: string, epoch: number, peer: PeerRef | null): Promise<ScannedReplica> {
    await this.applyConfig(volumeId, { role: 'primary', epoch, peer });
    const hosted = this.hosted(volumeId);
    await hosted.volume.saveMeta({ mode: 'normal' });
    return this.setIo(volumeId, 'enabled');
  }

  async delete(volumeId: string): Promise<{ deleted: boolean }> {
    this.verified.delete(volumeId);
    this.unrepaired.delete(volumeId);
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

  describe(hosted: HostedVolume, verified: Pick<Verification, 'badBlocks' | 'digest'> = { badBlocks: [], digest: '' }): ScannedReplica {
    const { meta, dirty } = hosted.volume;
    return {
      volumeId: meta.volumeId, sizeBytes: meta.sizeBytes, role: meta.role, epoch: meta.epoch, writeSeq: hosted.volume.writeSeq,
      badBlocks: verified.badBlocks, dirtyBadBlocks: verified.badBlocks.filter((b) => dirty.get(b)), digest: verified.digest,
      baseSnapshotId: meta.baseSnapshotId ?? null, rebuilding: meta.mode === 'rebuilding',
    };
  }

  status(volumeId: string): Record<string, unknown> {
    const hosted = this.hosted(volumeId);
    const { meta } = hosted.volume;
    return { ...meta, peer: meta.peer?.nodeId ?? null, writeSeq: hosted.volume.writeSeq, heldRequests: hosted.gate.heldCount, dirtyBlocks: hosted.volume.dirty.count(), baseSnapshotId: meta.baseSnapshotId ?? null };
  }
}
