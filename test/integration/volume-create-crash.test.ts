// Spec: a storage node SIGKILLed while it creates copies boots again, with every copy whose
// creation it finished, and without the one it was building (chaos seed 61206 scenario 27: a
// rebuild target killed between its files and meta.json could not boot at all). A real child
// process creates copies one after another and is killed at a random moment, twenty times; and
// one boots a node whose copies an older version wrote (format 1), killed mid-upgrade.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from '../../common/types.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { writeV1Copy, type V1Copy } from '../support/copy-on-disk.js';

const VOLUME_JS = resolve('dist/storage-node/store/volume.js');
const NODE_STORE_JS = resolve('dist/storage-node/store/node-store.js');
const SIZE = 256 * 1024;

/** Creates v0, v1, … in `volumesDir`, printing each id once its create returned, until killed. */
const CREATOR = `
import { Volume } from ${JSON.stringify(VOLUME_JS)};
const [volumesDir, size] = [process.argv[1], Number(process.argv[2])];
for (let i = 0; ; i++) {
  const volumeId = 'v' + i;
  await Volume.create(volumesDir + '/' + volumeId, { volumeId, sizeBytes: size, role: 'primary', epoch: 1, peer: null,
    ioState: 'enabled', mode: 'normal', createdAt: new Date().toISOString() }, true);
  process.stdout.write(volumeId + '\\n');
}`;

/** Boots a node on `dataDir` (upgrading every version-1 copy), printing `booted` when done. */
const BOOTER = `
import { NodeStore } from ${JSON.stringify(NODE_STORE_JS)};
await new NodeStore(process.argv[1], true).load();
process.stdout.write('booted\\n');`;

async function runUntilKilled(script: string, args: string[], afterMs: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  await exited;
  return out.split('\n').filter(Boolean);
}

describe('a node killed while it creates copies', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('boots with every copy it finished creating, and nothing of the one it was building', async () => {
    for (let round = 0; round < 20; round++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'create-crash-'));
      dirs.push(dataDir);
      await mkdir(join(dataDir, 'volumes'));
      const created = await runUntilKilled(CREATOR, [join(dataDir, 'volumes'), String(SIZE)], 150 + Math.floor(Math.random() * 250));
      const store = new NodeStore(dataDir, true);
      await store.load();
      for (const id of created) expect(store.get(id), `round ${round}: ${id} was created`).toBeDefined();
      expect(store.volumes.size - created.length, `round ${round}: at most the copy in flight`).toBeLessThanOrEqual(1);
      expect((await readdir(join(dataDir, 'volumes'))).sort(), `round ${round}: no leftovers`).toEqual([...store.volumes.keys()].sort());
      await store.markCleanShutdown();
    }
  }, 120_000);

  it('removes a copy an older version left half-made (no meta.json), and loads the rest', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'create-crash-'));
    dirs.push(dataDir);
    await mkdir(join(dataDir, 'volumes', 'half'), { recursive: true });
    await writeFile(join(dataDir, 'volumes', 'half', 'data'), Buffer.alloc(4096));
    await writeFile(join(dataDir, 'volumes', 'half', 'meta.json.tmp'), '');
    const store = new NodeStore(dataDir, true);
    await store.load();
    expect(store.get('half')).toBeUndefined();
    expect(await readdir(join(dataDir, 'volumes'))).toEqual([]);
  });
});

describe('a node killed while it upgrades version-1 copies at boot', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  function oldCopy(i: number): V1Copy {
    const bytes = Buffer.alloc(SIZE);
    bytes.fill(i + 1, 0, BLOCK_SIZE);
    bytes.fill(0xee, 7 * BLOCK_SIZE, 8 * BLOCK_SIZE);
    const meta = { volumeId: `v${i}`, sizeBytes: SIZE, role: 'primary', epoch: 2, peer: null, ioState: 'enabled', mode: 'normal' } as const;
    return { meta: { ...meta, createdAt: 'then' }, bytes, writeSeq: 100 + i, dirtyBlocks: [0, 7], tornBlocks: [7] };
  }

  it('boots again with every copy whole: its bytes, writeSeq, dirty bits and torn block', async () => {
    for (let round = 0; round < 8; round++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'upgrade-crash-'));
      dirs.push(dataDir);
      const copies = Array.from({ length: 24 }, (_, i) => oldCopy(i));
      for (const copy of copies) await writeV1Copy(join(dataDir, 'volumes', copy.meta.volumeId), copy);
      await runUntilKilled(BOOTER, [dataDir], 100 + Math.floor(Math.random() * 300));
      const store = new NodeStore(dataDir, true);
      await store.load();
      for (const copy of copies) {
        const v = store.get(copy.meta.volumeId)?.volume;
        expect(v, `round ${round}: ${copy.meta.volumeId} boots`).toBeDefined();
        expect(v!.meta.formatVersion).toBe(2);
        expect(v!.writeSeq).toBe(copy.writeSeq);
        expect([0, 1, 7, 8].map((b) => v!.dirty.get(b))).toEqual([true, false, true, false]);
        expect((await v!.read({ offset: 0, length: SIZE, firstBlock: 0, lastBlock: v!.blocks - 1 })).equals(copy.bytes)).toBe(true);
        expect((await v!.verify()).badBlocks, `round ${round}: ${copy.meta.volumeId}'s torn block`).toEqual([7]);
        expect((await readdir(v!.dir)).sort()).toEqual(['data', 'meta.json']);
      }
      await store.markCleanShutdown();
    }
  }, 120_000);
});
