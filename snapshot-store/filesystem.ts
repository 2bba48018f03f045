// The filesystem backend: <root>/chunks/<2 hex>/<sha256> and <root>/manifests/<volume>/<snapshot>.json.
// Every file is written to a temporary name, fsynced, renamed into place and its directory
// fsynced, so a crash leaves either nothing or the whole file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { chunkHash } from '../common/chunks.js';
import { SnapshotManifest } from './manifest.js';
import { CorruptChunkError, type SnapshotStore } from './store.js';

/** A chunk written or reused this recently may belong to a snapshot whose manifest is not written yet. */
const DEFAULT_GC_GRACE_MS = 10 * 60_000;

export class FsSnapshotStore implements SnapshotStore {
  constructor(
    readonly root: string,
    private readonly gcGraceMs = DEFAULT_GC_GRACE_MS,
  ) {}

  private chunkPath(hash: string): string {
    return join(this.root, 'chunks', hash.slice(0, 2), hash);
  }

  private manifestPath(volumeId: string, snapshotId: string): string {
    return join(this.root, 'manifests', volumeId, `${snapshotId}.json`);
  }

  async putChunk(hash: string, bytes: Uint8Array): Promise<void> {
    if (await this.touchChunk(hash)) return;
    await durableWrite(this.chunkPath(hash), bytes);
  }

  async touchChunk(hash: string): Promise<boolean> {
    const now = new Date();
    return utimes(this.chunkPath(hash), now, now).then(() => true, () => false);
  }

  async getChunk(hash: string): Promise<Buffer> {
    const bytes = await readFile(this.chunkPath(hash));
    if (chunkHash(bytes) !== hash) throw new CorruptChunkError(`chunk ${hash} in ${this.root} does not match its address`);
    return bytes;
  }

  async putManifest(manifest: SnapshotManifest): Promise<void> {
    await durableWrite(this.manifestPath(manifest.volumeId, manifest.snapshotId), Buffer.from(JSON.stringify(manifest)));
  }

  async getManifest(volumeId: string, snapshotId: string): Promise<SnapshotManifest | null> {
    const text = await readFile(this.manifestPath(volumeId, snapshotId), 'utf8').catch(absentAs(null));
    return text === null ? null : SnapshotManifest.parse(JSON.parse(text));
  }

  /** In sequence, not all at once: a failed read must fail the caller, never look like "none". */
  async listManifests(volumeId: string): Promise<SnapshotManifest[]> {
    const names = await readdir(join(this.root, 'manifests', volumeId)).catch(absentAs([] as string[]));
    const manifests: SnapshotManifest[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const m = await this.getManifest(volumeId, name.slice(0, -5));
      if (m) manifests.push(m);
    }
    return manifests.sort((a, b) => a.writeSeq - b.writeSeq || a.createdAt.localeCompare(b.createdAt));
  }

  async deleteManifest(volumeId: string, snapshotId: string): Promise<{ deleted: boolean; chunksFreed: number }> {
    const path = this.manifestPath(volumeId, snapshotId);
    const deleted = await stat(path).then(() => true, () => false);
    await rm(path, { force: true });
    return { deleted, chunksFreed: await this.collectGarbage() };
  }

  /** Deletes every chunk that no manifest names and that no snapshot in progress touched lately. */
  private async collectGarbage(): Promise<number> {
    const needed = new Set<string>();
    for (const volumeId of await readdir(join(this.root, 'manifests')).catch(absentAs([] as string[]))) {
      for (const m of await this.listManifests(volumeId)) for (const c of m.chunks) needed.add(c);
    }
    const cutoff = Date.now() - this.gcGraceMs;
    let freed = 0;
    for (const prefix of await readdir(join(this.root, 'chunks')).catch(absentAs([] as string[]))) {
      for (const hash of await readdir(join(this.root, 'chunks', prefix))) {
        if (needed.has(hash)) continue;
        const path = join(this.root, 'chunks', prefix, hash);
        if ((await stat(path)).mtimeMs > cutoff) continue;
        await rm(path, { force: true });
        freed += 1;
      }
    }
    return freed;
  }
}

/** Only a missing file or directory means "none"; any other error propagates (and stops a collection). */
function absentAs<T>(value: T): (err: unknown) => T {
  return (err) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return value;
    throw err;
  };
}

async function durableWrite(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.write(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
