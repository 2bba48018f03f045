// Spec: a copy an older node wrote (format version 1: crc, dirty and seq as files of their own)
// is upgraded in place at open into one data file with its metadata region, losing nothing —
// not its bytes, CRCs, dirty bits or writeSeq, and not a torn block's failing CRC — and a crash
// at any step of the upgrade leaves a copy that opens as the right one.
import { randomFillSync } from 'node:crypto';
import { open, readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from '../../common/types.js';
import { checkRange } from '../../storage-node/protocol/block-range.js';
import { crc32c } from '../../storage-node/protocol/crc32c.js';
import { copyLayout, encodeSeq } from '../../storage-node/store/copy-layout.js';
import { Volume, type VolumeMeta } from '../../storage-node/store/volume.js';
import { copyBytes, writeV1Copy, type V1Copy } from '../support/copy-on-disk.js';

const SIZE = 40 * BLOCK_SIZE + 1000; // a short last block: the region starts past it, on a 4 KiB boundary
const meta: VolumeMeta = {
  volumeId: 'v1',
  sizeBytes: SIZE,
  role: 'primary',
  epoch: 3,
  peer: null,
  ioState: 'enabled',
  mode: 'normal',
  createdAt: 'then',
  baseSnapshotId: 's1',
};

function oldCopy(): V1Copy {
  const bytes = Buffer.alloc(SIZE);
  for (const b of [0, 3, 9, 40]) randomFillSync(bytes, b * BLOCK_SIZE, Math.min(SIZE, (b + 1) * BLOCK_SIZE) - b * BLOCK_SIZE);
  return { meta, bytes, writeSeq: 7, dirtyBlocks: [3, 9, 17, 40], tornBlocks: [9] };
}

/** The copy opens as `copy` in format version 2, with nothing of version 1 left. */
async function expectUpgraded(dir: string, copy: V1Copy): Promise<void> {
  const v = await Volume.open(dir, false);
  try {
    expect(v.meta).toEqual({ ...copy.meta, formatVersion: 2 });
    expect(v.writeSeq).toBe(copy.writeSeq);
    expect((await v.read({ offset: 0, length: SIZE, firstBlock: 0, lastBlock: v.blocks - 1 })).equals(copy.bytes)).toBe(true);
    expect(Array.from({ length: v.blocks }, (_, b) => b).filter((b) => v.dirty.get(b))).toEqual(copy.dirtyBlocks);
    expect((await v.verify()).badBlocks).toEqual(copy.tornBlocks);
    expect(v.crcOf(3)).toBe(crc32c(copy.bytes, 3 * BLOCK_SIZE, 4 * BLOCK_SIZE));
  } finally {
    await v.close();
  }
  expect((await readdir(dir)).sort()).toEqual(['data', 'meta.json']);
}

describe('a version-1 copy', () => {
  let root = '';
  let dir = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'volume-upgrade-'));
    dir = join(root, 'v1');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('is upgraded in place at open: bytes, CRCs, dirty bits, writeSeq and its torn block survive', async () => {
    const copy = oldCopy();
    await writeV1Copy(dir, copy);
    await expectUpgraded(dir, copy);
    expect(JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'))).toMatchObject({ formatVersion: 2 });
    expect((await copyBytes(dir)).equals(copy.bytes)).toBe(true);
    await expectUpgraded(dir, copy); // a second open changes nothing
  });

  it('takes writes after its upgrade, durable across a reopen', async () => {
    const copy = oldCopy();
    await writeV1Copy(dir, copy);
    const v = await Volume.open(dir, true);
    const span = checkRange(5 * BLOCK_SIZE, BLOCK_SIZE, SIZE) as Exclude<ReturnType<typeof checkRange>, string>;
    expect(await v.write(span, Buffer.alloc(BLOCK_SIZE, 0x42))).toBe(8);
    await v.close();
    const again = await Volume.open(dir, false);
    expect(again.writeSeq).toBe(8);
    expect(again.dirty.get(5)).toBe(true);
    expect((await again.verify()).badBlocks).toEqual([9]);
    await again.close();
  });

  it('killed after writing the region but before replacing meta.json: the old files stay authoritative and the upgrade is redone', async () => {
    const copy = oldCopy();
    await writeV1Copy(dir, copy);
    // Whatever the killed attempt left past the volume's bytes, and a half-written meta.json.tmp.
    const layout = copyLayout(SIZE);
    const file = await open(join(dir, 'data'), 'r+');
    await file.write(randomFillSync(Buffer.alloc(layout.fileBytes - layout.seqAt)), 0, layout.fileBytes - layout.seqAt, layout.seqAt);
    await file.close();
    await writeFile(join(dir, 'meta.json.tmp'), '{"volumeId": "v1", "formatVers');
    await expectUpgraded(dir, copy);
  });

  it('killed after replacing meta.json but before removing the old files: the region is authoritative, the old files are removed', async () => {
    const copy = oldCopy();
    await writeV1Copy(dir, copy);
    await (await Volume.open(dir, false)).close();
    // The old files as they were before the upgrade, and older still: neither may be read again.
    await writeFile(join(dir, 'seq'), encodeSeq(99));
    await writeFile(join(dir, 'dirty'), Buffer.alloc(6, 0xff));
    await writeFile(join(dir, 'crc'), Buffer.alloc(41 * 4));
    await expectUpgraded(dir, copy);
  });

  it('whose metadata files are short is left as it is, and fails to open rather than load wrong', async () => {
    const copy = oldCopy();
    await writeV1Copy(dir, copy);
    await writeFile(join(dir, 'crc'), Buffer.alloc(8));
    await expect(Volume.open(dir, false)).rejects.toThrow(/short metadata files/);
    expect((await readdir(dir)).sort()).toEqual(['crc', 'data', 'dirty', 'meta.json', 'seq']);
  });
});
