// Between a volume and the snapshot store: incremental capture, and hydration of a new volume.
import { CHUNK_BLOCKS, CHUNK_BYTES, chunkCount, chunkHash, volumeDigest } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { encodeBlockCrcs, type SnapshotManifest } from '../../snapshot-store/manifest.js';
import { crc32c } from '../protocol/crc32c.js';
import type { SnapshotCapture, SnapshotStore } from '../../snapshot-store/store.js';
import { BoundedJobs, fetchAhead } from './pipeline.js';
import type { Volume } from './volume.js';

const UPLOADS_IN_FLIGHT = 8;
const FETCHES_AHEAD = 4;

/**
 * Uploads the chunks holding blocks written since the volume's base snapshot (every chunk when
 * there is none, or its manifest is gone) and inherits the others' addresses from the base.
 * The manifest is written once every chunk is durable; only then does the volume take the new
 * snapshot as its base and clear its dirty bits — in that order, so a crash in between leaves
 * a dirty bitmap that is a superset, never a subset. The caller keeps writes out meanwhile.
 */
export async function captureSnapshot(volume: Volume, store: SnapshotStore, snapshotId: string): Promise<SnapshotManifest> {
  const { volumeId, sizeBytes, epoch, baseSnapshotId } = volume.meta;
  const existing = await store.getManifest(volumeId, snapshotId);
  if (existing) return existing;
  // The lease comes first: from here on no garbage collection frees a chunk this capture names.
  const capture = await store.beginCapture(volumeId, snapshotId);
  const uploads = new BoundedJobs(UPLOADS_IN_FLIGHT);
  try {
    const parent = baseSnapshotId ? await store.getManifest(volumeId, baseSnapshotId) : null;
    const chunks: string[] = [];
    const blockCrcs: string[] = [];
    let uploadedChunks = 0;
    for (let c = 0; c < chunkCount(sizeBytes); c++) {
      const inherited = parent?.chunks[c];
      const inheritedCrcs = parent?.blockCrcs?.[c];
      if (
        inherited &&
        inheritedCrcs &&
        !volume.dirty.anyInRange(c * CHUNK_BLOCKS, (c + 1) * CHUNK_BLOCKS - 1) &&
        (await capture.reuse(inherited))
      ) {
        chunks.push(inherited);
        blockCrcs.push(inheritedCrcs);
        continue;
      }
      const bytes = await volume.readChunk(c);
      blockCrcs.push(encodeBlockCrcs(blockCrcsOfBytes(bytes)));
      const hash = chunkHash(bytes);
      chunks.push(hash);
      await uploads.add(hash, async () => {
        if (await capture.reuse(hash)) return;
        await capture.put(hash, bytes);
        uploadedChunks += 1;
      });
    }
    await uploads.drain(); // every chunk durable before the manifest names it
    const manifest: SnapshotManifest = {
      snapshotId,
      volumeId,
      parentId: parent?.snapshotId ?? null,
      sizeBytes,
      chunkBytes: CHUNK_BYTES,
      chunks,
      blockCrcs,
      epoch,
      writeSeq: volume.writeSeq,
      digest: volumeDigest(chunks),
      uploadedChunks,
      createdAt: new Date().toISOString(),
    };
    if (!(await capture.commit(manifest))) await restoreMissingChunks(volume, store, capture, chunks);
    await volume.saveMeta({ baseSnapshotId: snapshotId });
    await volume.resetDirty();
    return manifest;
  } finally {
    await uploads.drain().catch(() => undefined); // no upload outlives the lease, even on an error
    await capture.end();
  }
}

/**
 * A collection fenced this capture off (its lease lapsed) and may have freed a chunk it names.
 * Writes are still held, so the volume still has every chunk's bytes.
 */
async function restoreMissingChunks(volume: Volume, store: SnapshotStore, capture: SnapshotCapture, chunks: string[]): Promise<void> {
  for (let c = 0; c < chunks.length; c++) {
    if (await store.hasChunk(chunks[c]!)) continue;
    const bytes = await volume.readChunk(c);
    if (chunkHash(bytes) !== chunks[c])
      throw new Error(`chunk ${c} of ${volume.meta.volumeId} vanished from the store and its blocks changed`);
    await capture.put(chunks[c]!, bytes);
  }
}

function blockCrcsOfBytes(bytes: Buffer): Uint32Array {
  const crcs = new Uint32Array(Math.ceil(bytes.length / BLOCK_SIZE));
  for (let b = 0; b < crcs.length; b++) crcs[b] = crc32c(bytes, b * BLOCK_SIZE, Math.min(bytes.length, (b + 1) * BLOCK_SIZE));
  return crcs;
}

/** Fills a new, empty volume with a snapshot's bytes; it starts clean, with the snapshot as base. */
export async function hydrateFromSnapshot(
  volume: Volume,
  store: SnapshotStore,
  manifest: SnapshotManifest,
  onChunk: (done: number) => void = () => undefined,
): Promise<void> {
  const zero = chunkHash(Buffer.alloc(manifest.chunkBytes));
  const fetch = (c: number) => (manifest.chunks[c] === zero ? Promise.resolve(null) : store.getChunk(manifest.chunks[c]!));
  let c = 0;
  for await (const bytes of fetchAhead(manifest.chunks.length, FETCHES_AHEAD, fetch)) {
    if (bytes) await volume.writeBlocks(c * CHUNK_BLOCKS, bytes); // zeros stay sparse
    onChunk(++c);
  }
  await volume.saveMeta({ baseSnapshotId: manifest.snapshotId });
  await volume.sync();
}
