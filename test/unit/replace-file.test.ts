// A file the node replaces (meta.json, its token) is never seen torn: whoever reads it while it is
// being replaced (or after the writer was killed part-way) finds one whole version. Chaos seed
// 411207: a node killed while saving its token with a plain truncate-and-write could never boot
// again ("Unexpected end of JSON input").
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceFile } from '../../storage-node/store/copy-files.js';

describe('replaceFile', () => {
  let dir = '';
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'replace-file-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('never shows a reader anything but one whole version, while versions replace each other', async () => {
    const path = join(dir, 'node-token.json');
    const version = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(256 * 1024) });
    await replaceFile(path, version(-1), 0o600);
    let reads = 0;
    const torn: string[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(path, 'utf8');
        reads++;
        if (!/^\{"i":-?\d+,"pad":"x{262144}"\}$/.test(text)) torn.push(`${text.length} bytes`);
      }
    })();
    for (let i = 0; i < 100; i++) await replaceFile(path, version(i), 0o600);
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(torn).toEqual([]);
    expect(JSON.parse(await readFile(path, 'utf8')).i).toBe(99);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
