// A snapshot's manifest: every chunk's content address, so any snapshot restores on its own
// (no walking of parents), and deleting one never strands another's chunks.
import { z } from 'zod';

export const SnapshotManifest = z.strictObject({
  snapshotId: z.string().regex(/^[\w-]{1,80}$/),
  volumeId: z.string().regex(/^[\w-]{1,80}$/),
  /** The snapshot whose chunks this one inherited for blocks not written since (lineage only). */
  parentId: z.string().nullable(),
  sizeBytes: z.number().int().nonnegative(),
  chunkBytes: z.number().int().positive(),
  /** SHA-256 of each chunk, in order. */
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  /** Each chunk's block CRC32Cs (little-endian u32s, base64): a merge compares them instead of reading the chunk. */
  blockCrcs: z.array(z.string()).optional(),
  epoch: z.number().int().nonnegative(),
  writeSeq: z.number().int().nonnegative(),
  /** volumeDigest(chunks): equal to the digest a scan computes over the same bytes. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  /** Chunks this snapshot had to upload (not already in the store). */
  uploadedChunks: z.number().int().nonnegative(),
  createdAt: z.string(),
});
export type SnapshotManifest = z.infer<typeof SnapshotManifest>;

/** The block CRC32Cs of chunk `c`, or null when the manifest has none. */
export function blockCrcsOf(m: SnapshotManifest, c: number): Uint32Array | null {
  const encoded = m.blockCrcs?.[c];
  if (encoded === undefined) return null;
  const bytes = Buffer.from(encoded, 'base64');
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

export function encodeBlockCrcs(crcs: Uint32Array): string {
  return Buffer.from(crcs.buffer, crcs.byteOffset, crcs.byteLength).toString('base64');
}

export interface SnapshotSummary {
  snapshotId: string;
  volumeId: string;
  parentId: string | null;
  epoch: number;
  writeSeq: number;
  digest: string;
  sizeBytes: number;
  uploadedChunks: number;
  createdAt: string;
}

export function summarize(m: SnapshotManifest): SnapshotSummary {
  const { chunks: _chunks, chunkBytes: _chunkBytes, blockCrcs: _blockCrcs, ...summary } = m;
  return summary;
}
