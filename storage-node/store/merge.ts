// Merge-restore of an elected copy: its base snapshot is the clean base, the blocks written
// since (whose CRC verifies) are applied over it, bad blocks come from a peer or the snapshot.
import { CHUNK_BLOCKS, chunkHash, volumeDigest } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { blockCrcsOf, type SnapshotManifest } from '../../snapshot-store/manifest.js';
import type { SnapshotStore } from '../../snapshot-store/store.js';
import type { Verification, Volume } from './volume.js';

export interface MergeOutcome extends Verification {
  repairedFromPeer: number;
  repairedFromSnapshot: number;
  blocksFromBase: number;
}

type Base = SnapshotManifest | 'zeros' | 'lost';

/**
 * `base`: the copy's base snapshot; 'zeros' when it never had one (blocks not written since
 * creation are zeros); 'lost' when its manifest was deleted: then nothing comes from a base.
 *
 * A block not written since the base must equal the base's. A chunk whose hash equals the
 * base's is therefore already merged; in any other chunk, a clean block whose verified CRC
 * equals the base's CRC for it is too, and only the others are read from the store. A bad
 * block takes `repairs` (verified peer data) when given, else the base when it is clean. Only
 * changed blocks are written, so a bad block nobody could repair keeps its failing CRC.
 * Idempotent: a second run changes nothing.
 */
export async function mergeRestore(
  volume: Volume,
  store: SnapshotStore,
  base: Base,
  scan: Verification,
  repairs: Map<number, Buffer>,
): Promise<MergeOutcome> {
  const bad = new Set(scan.badBlocks);
  const chunkHashes = [...scan.chunkHashes];
  const outcome = { repairedFromPeer: 0, repairedFromSnapshot: 0, blocksFromBase: 0 };
  const stillBad: number[] = [];
  for (let c = 0; c < chunkHashes.length; c++) {
    const first = c * CHUNK_BLOCKS;
    const last = Math.min(volume.blocks, first + CHUNK_BLOCKS) - 1;
    const plan = planChunk(volume, base, c, first, last, chunkHashes[c]!, bad, repairs);
    stillBad.push(...plan.stillBad);
    if (plan.fromPeer.length === 0 && plan.fromBase.length === 0) continue;
    const chunk = await volume.readChunk(c);
    const baseChunk = plan.fromBase.length > 0 ? await baseBytes(store, base, c, chunk.length) : null;
    for (const b of plan.fromPeer) repairs.get(b)!.copy(chunk, (b - first) * BLOCK_SIZE);
    const changed = [...plan.fromPeer];
    for (const b of plan.fromBase) {
      const at = (b - first) * BLOCK_SIZE;
      if (!bad.has(b) && chunk.compare(baseChunk!, at, at + BLOCK_SIZE, at, at + BLOCK_SIZE) === 0) continue;
      baseChunk!.copy(chunk, at, at, at + BLOCK_SIZE);
      changed.push(b);
      if (bad.has(b)) outcome.repairedFromSnapshot += 1;
      else outcome.blocksFromBase += 1;
    }
    outcome.repairedFromPeer += plan.fromPeer.length;
    if (changed.length === 0) continue;
    for (const [runFirst, runLast] of runs(changed.sort((a, b) => a - b))) {
      await volume.writeBlocks(runFirst, chunk.subarray((runFirst - first) * BLOCK_SIZE, (runLast - first + 1) * BLOCK_SIZE));
    }
    chunkHashes[c] = chunkHash(chunk);
  }
  await volume.sync();
  return { ...outcome, badBlocks: stillBad, chunkHashes, digest: volumeDigest(chunkHashes) };
}

/** Which blocks of one chunk come from a peer, which from the base, and which stay bad. */
function planChunk(
  volume: Volume,
  base: Base,
  c: number,
  first: number,
  last: number,
  hash: string,
  bad: Set<number>,
  repairs: Map<number, Buffer>,
): { fromPeer: number[]; fromBase: number[]; stillBad: number[] } {
  const plan = { fromPeer: [] as number[], fromBase: [] as number[], stillBad: [] as number[] };
  const differsFromBase = typeof base === 'object' && hash !== base.chunks[c];
  if (!differsFromBase && !hasAny(bad, first, last)) return plan;
  const baseCrcs = typeof base === 'object' ? blockCrcsOf(base, c) : null;
  for (let b = first; b <= last; b++) {
    const clean = !volume.dirty.get(b);
    if (bad.has(b) && repairs.has(b)) plan.fromPeer.push(b);
    else if (clean && base !== 'lost' && (bad.has(b) || (differsFromBase && baseCrcs?.[b - first] !== volume.crcOf(b))))
      plan.fromBase.push(b);
    else if (bad.has(b)) plan.stillBad.push(b);
  }
  return plan;
}

async function baseBytes(store: SnapshotStore, base: Base, c: number, length: number): Promise<Buffer> {
  return typeof base === 'object' ? store.getChunk(base.chunks[c]!) : Buffer.alloc(length);
}

function hasAny(set: Set<number>, first: number, last: number): boolean {
  if (set.size === 0) return false;
  for (let b = first; b <= last; b++) if (set.has(b)) return true;
  return false;
}

/** Consecutive runs of ascending block indices, as [first, last] pairs. */
function runs(blocks: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const b of blocks) {
    const tail = out[out.length - 1];
    if (tail && tail[1] === b - 1) tail[1] = b;
    else out.push([b, b]);
  }
  return out;
}
