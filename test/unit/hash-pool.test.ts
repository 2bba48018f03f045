// The worker-thread scan must find exactly what the in-thread scan finds: the chunk SHA-256s are
// content addresses and the volume digest is compared across copies and snapshots.
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, chunkHash, volumeDigest } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { checkRange } from '../../storage-node/protocol/block-range.js';
import { crc32c } from '../../storage-node/protocol/crc32c.js';
import { HashPool, PARALLEL_MIN_BYTES, sharedHashPool } from '../../storage-node/store/hash-pool.js';
import { Volume } from '../../storage-node/store/volume.js';

/** The reference: the chunk hashes and block CRCs of `bytes`, computed one by one here. */
function expected(bytes: Buffer) {
  const chunkHashes: string[] = [];
  const crcs: number[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) chunkHashes.push(chunkHash(bytes.subarray(at, at + CHUNK_BYTES)));
  for (let at = 0; at < bytes.length; at += BLOCK_SIZE) crcs.push(crc32c(bytes, at, Math.min(bytes.length, at + BLOCK_SIZE)));
  return { chunkHashes, crcs };
}

describe('the hash pool', () => {
  let dir = '';
  const pool = new HashPool(2, createRequire(import.meta.url).resolve('@node-rs/crc32'));
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'hash-pool-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));
  afterAll(() => pool.close());

  it('hashes a file in many ranges on two workers exactly as in-thread, short last block included', async () => {
    const bytes = randomFillSync(Buffer.alloc(11 * CHUNK_BYTES + 3 * BLOCK_SIZE + 100));
    await writeFile(join(dir, 'f'), bytes);
    const got = await pool.hashFile(join(dir, 'f'), bytes.length, 2 * CHUNK_BYTES);
    const want = expected(bytes);
    expect(got.chunkHashes).toEqual(want.chunkHashes);
    expect([...got.crcs]).toEqual(want.crcs);
  });

  it('stops at the end of a file shorter than the size asked for', async () => {
    const bytes = randomFillSync(Buffer.alloc(5 * CHUNK_BYTES + 7));
    await writeFile(join(dir, 'f'), bytes);
    const got = await pool.hashFile(join(dir, 'f'), 20 * CHUNK_BYTES, CHUNK_BYTES);
    expect(got.chunkHashes).toEqual(expected(bytes).chunkHashes);
    expect(got.crcs.length).toBe(expected(bytes).crcs.length);
  });

  it('rejects a missing file instead of answering', async () => {
    await expect(pool.hashFile(join(dir, 'absent'), CHUNK_BYTES)).rejects.toThrow(/ENOENT/);
    expect(pool.usable).toBe(true);
  });
});

describe("a large volume's scan", () => {
  let dir = '';
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'volume-scan-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs on the shared pool and finds the same hashes, digest and bad blocks', async () => {
    if (availableParallelism() >= 2) expect(sharedHashPool()).not.toBeNull();
    const size = PARALLEL_MIN_BYTES + 3 * CHUNK_BYTES;
    const v = await Volume.create(join(dir, 'v'), { ...META, sizeBytes: size }, false);
    const payload = randomFillSync(Buffer.alloc(CHUNK_BYTES));
    for (const offset of [0, 5 * CHUNK_BYTES + 512, size - CHUNK_BYTES])
      await v.write(checkRange(offset, CHUNK_BYTES, size) as Exclude<ReturnType<typeof checkRange>, string>, payload);
    const rot = await open(join(dir, 'v', 'data'), 'r+');
    await rot.write(Buffer.alloc(8, 0xff), 0, 8, 70 * BLOCK_SIZE + 9);
    await rot.close();

    const scan = await v.verify();
    const bytes = await v.read({ offset: 0, length: size, firstBlock: 0, lastBlock: size / BLOCK_SIZE - 1 });
    const want = expected(bytes);
    expect(scan.chunkHashes).toEqual(want.chunkHashes);
    expect(scan.digest).toBe(volumeDigest(want.chunkHashes));
    expect(await v.digest()).toBe(scan.digest);
    expect(scan.badBlocks).toEqual([70]);
    await v.close();
  });
});

const META = {
  volumeId: 'v',
  role: 'primary',
  epoch: 1,
  peer: null,
  ioState: 'enabled',
  mode: 'normal',
  createdAt: 'now',
} as const;
