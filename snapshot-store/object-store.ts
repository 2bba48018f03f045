// The snapshot store over any object backend (a directory, an S3 bucket): chunks under their
// SHA-256, one manifest per snapshot, and the garbage collection of gc.ts. Both backends share
// this code, so the collector's protocol is the same whichever holds the objects.
import { chunkHash } from '../common/chunks.js';
import { Capture, DEFAULT_GC, chunkKey, collectGarbage, manifestKey, pendingKey, type GcOptions } from './gc.js';
import { SnapshotManifest } from './manifest.js';
import type { ObjectBackend } from './objects.js';
import type { SnapshotCapture, SnapshotStore } from './store.js';

export class CorruptChunkError extends Error {}

export class ObjectSnapshotStore implements SnapshotStore {
  readonly gc: GcOptions;

  constructor(
    readonly objects: ObjectBackend,
    gc: Partial<GcOptions> = {},
  ) {
    this.gc = { ...DEFAULT_GC, ...gc };
  }

  async beginCapture(volumeId: string, snapshotId: string): Promise<SnapshotCapture> {
    const capture = await Capture.begin(this.objects, `${volumeId}.${snapshotId}`, this.gc);
    return {
      reuse: (hash) => capture.reuse(hash),
      put: (hash, bytes) => capture.put(hash, bytes),
      commit: (m) => capture.commit(manifestKey(m.volumeId, m.snapshotId), SnapshotManifest.parse(m)),
      end: () => capture.end(),
    };
  }

  async hasChunk(hash: string): Promise<boolean> {
    return this.objects.exists(chunkKey(hash));
  }

  async getChunk(hash: string): Promise<Buffer> {
    const bytes = await this.objects.get(chunkKey(hash));
    if (bytes === null) throw Object.assign(new Error(`chunk ${hash} is not in ${this.objects.where}`), { code: 'ENOENT' });
    if (chunkHash(bytes) !== hash) throw new CorruptChunkError(`chunk ${hash} in ${this.objects.where} does not match its address`);
    return bytes;
  }

  async getManifest(volumeId: string, snapshotId: string): Promise<SnapshotManifest | null> {
    const bytes = await this.objects.get(manifestKey(volumeId, snapshotId));
    return bytes === null ? null : SnapshotManifest.parse(JSON.parse(bytes.toString('utf8')));
  }

  /** In sequence, not all at once: a failed read must fail the caller, never look like "none". */
  async listManifests(volumeId: string): Promise<SnapshotManifest[]> {
    const manifests: SnapshotManifest[] = [];
    for (const key of await this.objects.list(`manifests/${volumeId}/`)) {
      if (!key.endsWith('.json')) continue;
      const m = await this.getManifest(volumeId, key.slice(key.lastIndexOf('/') + 1, -5));
      if (m) manifests.push(m);
    }
    return manifests.sort((a, b) => a.writeSeq - b.writeSeq || a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * The manifest's chunks become candidates (a pending record, written before the manifest
   * goes, so a crash in between loses none), then one collection pass runs.
   */
  async deleteManifest(volumeId: string, snapshotId: string): Promise<{ deleted: boolean; chunksFreed: number }> {
    const manifest = await this.getManifest(volumeId, snapshotId);
    if (manifest) {
      await this.objects.put(pendingKey(volumeId, snapshotId), Buffer.from(JSON.stringify({ chunks: [...new Set(manifest.chunks)] })));
      await this.objects.delete(manifestKey(volumeId, snapshotId));
    }
    return { deleted: manifest !== null, chunksFreed: await this.collectGarbage() };
  }

  collectGarbage(): Promise<number> {
    return collectGarbage(this.objects, this.gc);
  }
}
