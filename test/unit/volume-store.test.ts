// The on-disk volume: real files in a temporary directory.
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkRange } from '../../storage-node/protocol/block-range.js';
import { copyLayout } from '../../storage-node/store/copy-layout.js';
import { Volume, type VolumeMeta } from '../../storage-node/store/volume.js';
import { copyBytes, corruptStoredCrc } from '../support/copy-on-disk.js';

const SIZE = 64 * 1024;
const meta: VolumeMeta = {
  volumeId: 'v1',
  sizeBytes: SIZE,
  role: 'primary',
  epoch: 1,
  peer: null,
  ioState: 'enabled',
  mode: 'normal',
  createdAt: 'now',
};
const span = (offset: number, length: number) => checkRange(offset, length, SIZE) as Exclude<ReturnType<typeof checkRange>, string>;

describe('a volume on disk', () => {
  let dir = '';
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'volume-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads back unaligned writes and counts them in writeSeq and the dirty bitmap', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta, false);
    expect(await v.write(span(4000, 200), Buffer.alloc(200, 7))).toBe(1);
    expect(await v.write(span(10, 5), Buffer.from('hello'))).toBe(2);
    expect((await v.read(span(3998, 204))).toString('hex')).toBe('0000' + '07'.repeat(200) + '0000');
    expect((await v.read(span(10, 5))).toString()).toBe('hello');
    expect(v.dirty.count()).toBe(2);
    await v.close();
  });

  it('keeps every concurrent change of its meta, the last one on disk', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta, true);
    await Promise.all([
      v.saveMeta({ ioState: 'paused' }),
      v.saveMeta({ mode: 'restored' }),
      v.saveMeta({ epoch: 3 }),
      v.saveMeta({ ioState: 'enabled' }),
    ]);
    await v.close();
    const reopened = await Volume.open(join(dir, 'v1'), true);
    expect(reopened.meta).toMatchObject({ ioState: 'enabled', mode: 'restored', epoch: 3 });
    await reopened.close();
  });

  it('survives a reopen with its writeSeq, CRCs and data', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta, true);
    await v.write(span(0, 8192), Buffer.alloc(8192, 1));
    const before = await v.digest();
    await v.close();
    const again = await Volume.open(join(dir, 'v1'), false);
    expect(again.writeSeq).toBe(1);
    expect(await again.digest()).toBe(before);
    expect((await again.verify()).badBlocks).toEqual([]);
    await again.close();
  });

  it('finds a block whose bytes were flipped behind its back', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta, false);
    await v.write(span(0, SIZE), Buffer.alloc(SIZE, 9));
    await v.close();
    const file = await open(join(dir, 'v1', 'data'), 'r+');
    await file.write(Buffer.from([0xff, 0x00]), 0, 2, 5 * 4096 + 17);
    await file.close();
    const reopened = await Volume.open(join(dir, 'v1'), false);
    expect((await reopened.verify()).badBlocks).toEqual([5]);
    await reopened.close();
  });

  it('is one data file and meta.json: the bytes, then its writeSeq, CRCs and dirty bitmap past them', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta, false);
    await v.write(span(8192, 4096), Buffer.alloc(4096, 3));
    await v.close();
    expect((await readdir(join(dir, 'v1'))).sort()).toEqual(['data', 'meta.json']);
    expect(JSON.parse(await readFile(join(dir, 'v1', 'meta.json'), 'utf8'))).toMatchObject({ formatVersion: 2 });
    expect((await stat(join(dir, 'v1', 'data'))).size).toBe(copyLayout(SIZE).fileBytes);
    const bytes = await copyBytes(join(dir, 'v1'));
    expect(bytes.subarray(8192, 12288).every((b) => b === 3)).toBe(true);
    expect(bytes.length).toBe(SIZE);
  });

  it('finds a block whose stored CRC was damaged, though its bytes are intact', async () => {
    const v = await Volume.create(join(dir, 'v1'), meta, false);
    await v.write(span(0, SIZE), Buffer.alloc(SIZE, 9));
    await v.close();
    await corruptStoredCrc(join(dir, 'v1'), 11);
    const reopened = await Volume.open(join(dir, 'v1'), false);
    expect((await reopened.verify()).badBlocks).toEqual([11]);
    await reopened.close();
  });
});
