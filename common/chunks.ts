// Volumes are addressed in chunks of 64 blocks: the unit of snapshot upload, deduplication and
// the volume digest. The digest is the SHA-256 of the chunks' SHA-256s in order, so a snapshot's
// digest follows from its manifest and a scan's from the hashes it computes anyway.
import { createHash } from 'node:crypto';
import { BLOCK_SIZE } from './types.js';

export const CHUNK_BLOCKS = 64;
export const CHUNK_BYTES = CHUNK_BLOCKS * BLOCK_SIZE;

export function chunkCount(sizeBytes: number): number {
  return Math.ceil(sizeBytes / CHUNK_BYTES);
}

export function chunkHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function volumeDigest(chunkHashes: readonly string[]): string {
  const hash = createHash('sha256');
  for (const h of chunkHashes) hash.update(Buffer.from(h, 'hex'));
  return hash.digest('hex');
}
