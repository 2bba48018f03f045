// Spec: a storage node SIGKILLed while it creates copies boots again, with every copy whose
// creation it finished, and without the one it was building (chaos seed 61206 scenario 27: a
// rebuild target killed between its files and meta.json could not boot at all). A real child
// process creates copies one after another and is killed at a random moment, twenty times.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeStore } from '../../storage-node/store/node-store.js';

const VOLUME_JS = resolve('dist/storage-node/store/volume.js');
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

async function createUntilKilled(volumesDir: string, afterMs: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CREATOR, volumesDir, String(SIZE)], {
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
      const created = await createUntilKilled(join(dataDir, 'volumes'), 150 + Math.floor(Math.random() * 250));
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
