// A copy's files on disk: meta.json replaced atomically and durably, the metadata region of the
// data file read and written whole (at create, open and upgrade), and the in-place upgrade of a
// version-1 copy, whose CRCs, dirty bitmap and writeSeq were files of their own.
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Bitmap } from '../protocol/bitmap.js';
import { copyLayout, crcBytesOf, crcsFromBytes, decodeSeq, encodeSeq, FORMAT_VERSION, V1_FILES, type CopyLayout } from './copy-layout.js';
import type { VolumeMeta } from './volume.js';

export interface CopyRegion {
  writeSeq: number;
  crcs: Uint32Array;
  dirty: Bitmap;
}

/** Writes the whole region (seq, CRCs, bitmap) into `data`, which it first extends to its full length. Not synced. */
export async function writeRegion(
  data: FileHandle,
  layout: CopyLayout,
  region: { seq: Buffer; crcs: Buffer; dirty: Uint8Array },
): Promise<void> {
  await data.truncate(layout.fileBytes);
  await data.write(region.seq, 0, 8, layout.seqAt);
  await data.write(region.crcs, 0, layout.crcBytes, layout.crcsAt);
  await data.write(region.dirty, 0, layout.dirtyBytes, layout.dirtyAt);
}

export async function readRegion(data: FileHandle, layout: CopyLayout): Promise<CopyRegion> {
  const [seq, crcs, dirty] = await Promise.all([
    readExactly(data, 8, layout.seqAt),
    readExactly(data, layout.crcBytes, layout.crcsAt),
    readExactly(data, layout.dirtyBytes, layout.dirtyAt),
  ]);
  return { writeSeq: decodeSeq(seq), crcs: crcsFromBytes(crcs, layout.blocks), dirty: new Bitmap(new Uint8Array(dirty)) };
}

/** A new copy's region: writeSeq 0, every CRC a zero block's, nothing dirty. */
export function emptyRegion(layout: CopyLayout, zeroBlockCrc: number): { seq: Buffer; crcs: Buffer; dirty: Uint8Array } {
  return {
    seq: encodeSeq(0),
    crcs: crcBytesOf(new Uint32Array(layout.blocks).fill(zeroBlockCrc)),
    dirty: Bitmap.forBlocks(layout.blocks).bytes,
  };
}

/**
 * Upgrades a version-1 copy in place; every step leaves one complete copy:
 * 1. the region is written from the old files into `data`, past the volume's bytes, and fsynced —
 *    meta.json still says version 1, so the old files stay authoritative and a crash means the
 *    upgrade is simply redone;
 * 2. meta.json is replaced (atomically, durably) with `formatVersion: 2`: from here the region is;
 * 3. the old files are removed — a crash before leaves them, ignored, for the next open to remove.
 */
export async function upgradeV1Copy(dir: string, meta: VolumeMeta): Promise<VolumeMeta> {
  const layout = copyLayout(meta.sizeBytes);
  const [crcs, dirty, seq] = await Promise.all([V1_FILES.crc, V1_FILES.dirty, V1_FILES.seq].map((f) => readFile(join(dir, f))));
  if (crcs!.length < layout.crcBytes || dirty!.length < layout.dirtyBytes || seq!.length < 8) {
    throw new Error(`version-1 copy ${dir} has short metadata files: left as it is`);
  }
  const data = await open(join(dir, 'data'), 'r+');
  try {
    await writeRegion(data, layout, { seq: seq!, crcs: crcs!, dirty: dirty! }); // the v1 crc file held little-endian u32s too
    await data.sync();
  } finally {
    await data.close();
  }
  const upgraded = { ...meta, formatVersion: FORMAT_VERSION };
  await writeMetaFile(dir, upgraded);
  await removeV1Files(dir);
  return upgraded;
}

/** What an upgrade killed after its meta.json left behind (nothing, usually). */
export async function removeV1Files(dir: string): Promise<void> {
  await Promise.all(Object.values(V1_FILES).map((f) => rm(join(dir, f), { force: true })));
}

/**
 * Replaces meta.json atomically and durably: the base snapshot it names must never roll back
 * behind a dirty bitmap that was cleared for a newer one.
 */
export async function writeMetaFile(dir: string, meta: VolumeMeta): Promise<void> {
  await replaceFile(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
}

/**
 * Replaces a file atomically and durably (a temporary beside it, fsynced, renamed over it, the
 * directory fsynced): a process killed at any point leaves the old contents or the new, never a
 * torn file (a node killed while saving its token could not boot again: chaos seed 411207).
 */
export async function replaceFile(path: string, contents: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w', mode);
  try {
    await file.writeFile(contents);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/** Makes a directory's entries (a rename, a new file, a removal) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readExactly(file: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  if (bytesRead < length) throw new Error(`data file ends inside its metadata region (at ${position + bytesRead})`);
  return buf;
}
