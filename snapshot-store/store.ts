// The high-durability store behind snapshots and archives. Chunks are content-addressed and
// written once; a manifest is written only after all its chunks are durable. Two backends share
// one implementation (object-store.ts): a directory, or an S3-compatible bucket.
import type { SnapshotManifest } from './manifest.js';
import { FsSnapshotStore } from './filesystem.js';
import { ObjectSnapshotStore } from './object-store.js';
import { S3Objects, parseS3Url, s3ClientFromEnv } from './s3.js';

/** A snapshot being taken: its lease keeps every chunk it names from a garbage collection. */
export interface SnapshotCapture {
  /** True when the chunk is stored and the manifest may name it. */
  reuse(hash: string): Promise<boolean>;
  /** Stores a chunk under its SHA-256 (idempotent). Durable when the promise resolves. */
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /**
   * Writes the manifest. False when a collection fenced this capture off meanwhile (its lease
   * lapsed): the caller then puts again every chunk the store lacks.
   */
  commit(manifest: SnapshotManifest): Promise<boolean>;
  /** Releases the lease (always, in a finally). */
  end(): Promise<void>;
}

export interface SnapshotStore {
  beginCapture(volumeId: string, snapshotId: string): Promise<SnapshotCapture>;
  hasChunk(hash: string): Promise<boolean>;
  /** The chunk's bytes, verified against its address. */
  getChunk(hash: string): Promise<Buffer>;
  getManifest(volumeId: string, snapshotId: string): Promise<SnapshotManifest | null>;
  listManifests(volumeId: string): Promise<SnapshotManifest[]>;
  /** Removes the manifest, then frees the chunks no remaining manifest or capture needs. */
  deleteManifest(volumeId: string, snapshotId: string): Promise<{ deleted: boolean; chunksFreed: number }>;
}

export { CorruptChunkError } from './object-store.js';

/**
 * `SNAPSHOT_STORE`: a directory path, a file:// URL, or s3://bucket/prefix (endpoint, region
 * and credentials from the AWS_* variables; see s3.ts).
 */
export function openSnapshotStore(spec: string): SnapshotStore {
  if (spec.startsWith('file://')) return new FsSnapshotStore(new URL(spec).pathname);
  if (spec.startsWith('s3://')) return new ObjectSnapshotStore(new S3Objects(s3ClientFromEnv(), parseS3Url(spec)));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new Error(`snapshot store ${spec}: a directory, file:// or s3:// URL is expected`);
  return new FsSnapshotStore(spec);
}
