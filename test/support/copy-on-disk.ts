// A copy's files as a test sees them on disk: the volume's bytes, a stored CRC to damage, and a
// version-1 copy (crc, dirty and seq as files of their own) as an older node left it.
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOCK_SIZE } from '../../common/types.js';
import { crc32c } from '../../storage-node/protocol/crc32c.js';
import { copyLayout, crcOffset, encodeSeq } from '../../storage-node/store/copy-layout.js';
import type { VolumeMeta } from '../../storage-node/store/volume.js';

async function sizeOf(copyDir: string): Promise<number> {
  return (JSON.parse(await readFile(join(copyDir, 'meta.json'), 'utf8')) as VolumeMeta).sizeBytes;
}

/** The volume's bytes: the data file up to the volume's size (its metadata region follows). */
export async function copyBytes(copyDir: string): Promise<Buffer> {
  return (await readFile(join(copyDir, 'data'))).subarray(0, await sizeOf(copyDir));
}

/** Flips bits of the CRC stored for `block` (the copy closed): the block reads as bad though its bytes are intact. */
export async function corruptStoredCrc(copyDir: string, block: number): Promise<void> {
  const at = crcOffset(copyLayout(await sizeOf(copyDir)), block);
  const file = await open(join(copyDir, 'data'), 'r+');
  try {
    const crc = Buffer.alloc(4);
    await file.read(crc, 0, 4, at);
    crc.writeUInt32LE((crc.readUInt32LE(0) ^ 0x5a5a5a5a) >>> 0);
    await file.write(crc, 0, 4, at);
  } finally {
    await file.close();
  }
}

export interface V1Copy {
  meta: VolumeMeta;
  /** The volume's bytes (sizeBytes of them). */
  bytes: Buffer;
  writeSeq: number;
  dirtyBlocks: number[];
  /** Blocks whose stored CRC is not their bytes' (a torn write), else every CRC matches. */
  tornBlocks?: number[];
}

/** Writes a copy in the version-1 layout: data (the bytes only), crc, dirty, seq and a meta.json without formatVersion. */
export async function writeV1Copy(copyDir: string, copy: V1Copy): Promise<void> {
  const blocks = Math.ceil(copy.meta.sizeBytes / BLOCK_SIZE);
  const crcs = new Uint32Array(blocks);
  for (let b = 0; b < blocks; b++) crcs[b] = crc32c(copy.bytes, b * BLOCK_SIZE, Math.min(copy.bytes.length, (b + 1) * BLOCK_SIZE));
  for (const b of copy.tornBlocks ?? []) crcs[b] = crcs[b]! ^ 0xffffffff;
  const dirty = new Uint8Array(Math.ceil(blocks / 8));
  for (const b of copy.dirtyBlocks) dirty[b >> 3]! |= 1 << (b & 7);
  await mkdir(copyDir, { recursive: true });
  await writeFile(join(copyDir, 'data'), copy.bytes);
  await writeFile(join(copyDir, 'crc'), new Uint8Array(crcs.buffer));
  await writeFile(join(copyDir, 'dirty'), dirty);
  await writeFile(join(copyDir, 'seq'), encodeSeq(copy.writeSeq));
  await writeFile(join(copyDir, 'meta.json'), JSON.stringify(copy.meta, null, 2));
}
