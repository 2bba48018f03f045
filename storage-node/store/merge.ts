// Merge-restore of an elected copy: its base snapshot is the clean base, the blocks written
// since (whose CRC verifies) are applied over it, bad blocks come from a peer or the snapshot.
import { CHUNK_BLOCKS, chunkHash, volumeDigest } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import type { SnapshotManifest } from '../../snapshot-store/manifest.js';
import type { SnapshotStore } from '../../snapshot-store/store.js';
import type { Verification, Volume } from './volume.js';

export interface MergeOutcome extends Verification {
  repairedFromPeer: number;
  repairedFromSnapshot: number;
  blocksFromBase: number;
}

/**
 * A chunk whose hash equals the base's is already the merge result; any other chunk is read,
 * and each of its blocks not written since the base is taken from the base, each bad block from
 * `repairs` (verified peer data) when given. Only the blocks that change are written, so a bad
 * block nobody can repair keeps its failing CRC. Idempotent: a second run changes nothing.
 */
/**
 * `base`: the copy's base snapshot; 'zeros' when it never had one (blocks not written since
 * creation are zeros); 'lost' when its manifest was deleted: then nothing comes from a base.
 */
export async function mergeRestore(
  volume: Volume, store: SnapshotStore, base: SnapshotManifest | 'zeros' | 'lost', scan: Verification, repairs: Map<number, Buffer>,
): Promise<MergeOutcome> {
  const bad = new Set(scan.badBlocks);
  const chunkHashes = [...scan.chunkHashes];
  const outcome = { repairedFromPeer: 0, repairedFromSnapshot: 0, blocksFromBase: 0 };
  const stillBad: number[] = [];
  for (let c = 0; c < chunkHashes.length; c++) {
    const first = c * CHUNK_BLOCKS;
    const last = Math.min(volume.blocks, first + CHUNK_BLOCKS) - 1;
    const differsFromBase = typeof base === 'object' && chunkHashes[c] !== base.chunks[c];
    if (!differsFromBase && !hasAny(bad, first, last)) continue;
    const chunk = await volume.readChunk(c);
    const baseChunk = typeof base === 'object' ? await store.getChunk(base.chunks[c]!) : base === 'zeros' ? Buffer.alloc(chunk.length) : null;
    const changed: number[] = [];
    for (let b = first; b <= last; b++) {
      const at = (b - first) * BLOCK_SIZE;
      const repair = repairs.get(b);
      if (bad.has(b) && repair) {
        repair.copy(chunk, at);
        outcome.repairedFromPeer += 1;
      } else if (baseChunk && !volume.dirty.get(b) && (bad.has(b) || differsFromBase)) {
        if (chunk.compare(baseChunk, at, at + BLOCK_SIZE, at, at + BLOCK_SIZE) === 0 && !bad.has(b)) continue;
        baseChunk.copy(chunk, at, at, at + BLOCK_SIZE);
        if (bad.has(b)) outcome.repairedFromSnapshot += 1;
        else outcome.blocksFromBase += 1;
      } else {
        if (bad.has(b)) stillBad.push(b);
        continue;
      }
      changed.push(b);
    }
    for (const [runFirst, runLast] of runs(changed)) {
      await volume.writeBlocks(runFirst, chunk.subarray((runFirst - first) * BLOCK_SIZE, (runLast - first + 1) * BLOCK_SIZE));
    }
    chunkHashes[c] = chunkHash(chunk);
  }
  await volume.sync();
  return { ...outcome, badBlocks: stillBad, chunkHashes, digest: volumeDigest(chunkHashes) };
}

function hasAny(set: Set<number>, first: number, last: number): boolean {
  if (set.size === 0) return false;
  for (let b = first; b <= last; b++) if (set.has(b)) return true;
  return false;
}

/** Consecutive runs of ascending block indices, as [first, last] pairs. */
export function runs(blocks: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const b of blocks) {
    const tail = out[out.length - 1];
    if (tail && tail[1] === b - 1) tail[1] = b;
    else out.push([b, b]);
  }
  return out;
}
