// The high-durability store behind snapshots and archives. Chunks are content-addressed and
// written once; a manifest is written only after all its chunks are durable.
import type { SnapshotManifest } from './manifest.js';
import { FsSnapshotStore } from './filesystem.js';

export interface SnapshotStore {
  /** Stores a chunk under its SHA-256 (idempotent). Durable when the promise resolves. */
  putChunk(hash: string, bytes: Uint8Array): Promise<void>;
  /** True when the chunk is stored; also protects it from a concurrent garbage collection. */
  touchChunk(hash: string): Promise<boolean>;
  /** The chunk's bytes, verified against its address. */
  getChunk(hash: string): Promise<Buffer>;
  putManifest(manifest: SnapshotManifest): Promise<void>;
  getManifest(volumeId: string, snapshotId: string): Promise<SnapshotManifest | null>;
  listManifests(volumeId: string): Promise<SnapshotManifest[]>;
  /** Removes the manifest, then every chunk no remaining manifest needs. */
  deleteManifest(volumeId: string, snapshotId: string): Promise<{ deleted: boolean; chunksFreed: number }>;
}

export class CorruptChunkError extends Error {}

/**
 * `SNAPSHOT_STORE`: a directory path or a file:// URL. Other schemes (s3://) are for a
 * backend that implements the same interface.
 */
export function openSnapshotStore(spec: string): SnapshotStore {
  if (spec.startsWith('file://')) return new FsSnapshotStore(new URL(spec).pathname);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new Error(`snapshot store ${spec}: only directories (or file:// URLs) are supported`);
  return new FsSnapshotStore(spec);
}
