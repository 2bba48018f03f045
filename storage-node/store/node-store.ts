// Every volume a node hosts, plus the node-wide files: the clean-shutdown marker, the
// idempotency journal (so a retried activity gets the first answer) and the operations log.
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IoGate, VolumeDeletedError } from './io-gate.js';
import { logger } from '../../common/log.js';
import { CREATING_SUFFIX, DELETING_SUFFIX, Volume, type VolumeMeta } from './volume.js';

export interface HostedVolume {
  volume: Volume;
  gate: IoGate;
}

const JOURNAL_KEEP = 20_000;
const VOLUME_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class NodeStore {
  readonly volumes = new Map<string, HostedVolume>();
  private readonly journal = new Map<string, unknown>();

  constructor(
    readonly dataDir: string,
    private readonly fsync: boolean,
  ) {}

  private get volumesDir(): string {
    return join(this.dataDir, 'volumes');
  }

  private get markerPath(): string {
    return join(this.dataDir, 'clean-shutdown');
  }

  /** Loads every volume; returns whether the last shutdown was clean (and clears the marker). */
  async load(): Promise<{ cleanShutdown: boolean; firstBoot: boolean }> {
    await mkdir(this.volumesDir, { recursive: true });
    const firstBoot = !(await exists(join(this.dataDir, 'node-id')));
    const cleanShutdown = await exists(this.markerPath);
    await rm(this.markerPath, { force: true });
    for (const name of await readdir(this.volumesDir)) {
      const dir = join(this.volumesDir, name);
      if (await isLeftover(dir)) {
        logger({ component: 'node-store' }).warn({ dir }, `removing ${name}: a copy whose creation or deletion did not finish`);
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const volume = await Volume.open(dir, this.fsync);
      this.volumes.set(volume.meta.volumeId, { volume, gate: new IoGate(volume.meta.ioState === 'paused') });
    }
    await this.loadJournal();
    return { cleanShutdown, firstBoot };
  }

  async claimIdentity(nodeId: string): Promise<void> {
    const path = join(this.dataDir, 'node-id');
    if (await exists(path)) {
      const owner = (await readFile(path, 'utf8')).trim();
      if (owner !== nodeId) throw new Error(`data dir ${this.dataDir} belongs to node ${owner}, not ${nodeId}`);
      return;
    }
    await writeFile(path, nodeId);
  }

  async markCleanShutdown(): Promise<void> {
    await Promise.all([...this.volumes.values()].map((h) => h.volume.close()));
    await writeFile(this.markerPath, new Date().toISOString());
  }

  get(volumeId: string): HostedVolume | undefined {
    return this.volumes.get(volumeId);
  }

  async create(meta: VolumeMeta): Promise<HostedVolume> {
    if (!VOLUME_ID.test(meta.volumeId)) throw new Error(`bad volume id ${meta.volumeId}`);
    const volume = await Volume.create(join(this.volumesDir, meta.volumeId), meta, this.fsync);
    const hosted = { volume, gate: new IoGate(meta.ioState === 'paused') };
    this.volumes.set(meta.volumeId, hosted);
    return hosted;
  }

  /** Deletes the volume's files at once and fails its held requests. */
  async delete(volumeId: string): Promise<boolean> {
    const hosted = this.volumes.get(volumeId);
    if (!hosted) return false;
    this.volumes.delete(volumeId);
    hosted.gate.close(new VolumeDeletedError(volumeId));
    await hosted.volume.destroy();
    return true;
  }

  usedBytes(): number {
    let used = 0;
    for (const { volume } of this.volumes.values()) used += volume.meta.sizeBytes;
    return used;
  }

  /** Runs `fn` once per idempotency key; a repeat returns the recorded result. */
  async once<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (!key) return fn();
    if (this.journal.has(key)) return this.journal.get(key) as T;
    const result = await fn();
    this.journal.set(key, result);
    await appendFile(join(this.dataDir, 'idempotency.jsonl'), JSON.stringify({ key, result }) + '\n');
    return result;
  }

  /** Appends an effective mutation to the operations log (one JSON object a line). */
  async logOperation(op: string, volumeId: string, detail: Record<string, unknown> = {}): Promise<void> {
    const line = JSON.stringify({ at: new Date().toISOString(), op, volumeId, ...detail });
    await appendFile(join(this.dataDir, 'operations.jsonl'), line + '\n');
  }

  private async loadJournal(): Promise<void> {
    const path = join(this.dataDir, 'idempotency.jsonl');
    if (!(await exists(path))) return;
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    for (const line of lines.slice(-JOURNAL_KEEP)) {
      try {
        const { key, result } = JSON.parse(line) as { key: string; result: unknown };
        this.journal.set(key, result);
      } catch {
        // a line torn by a crash: its operation will simply run again
      }
    }
    if (lines.length > JOURNAL_KEEP) {
      const kept = [...this.journal].map(([key, result]) => JSON.stringify({ key, result })).join('\n');
      await writeFile(path, kept + '\n');
    }
  }
}

/**
 * What a crash left mid-create or mid-delete: a staging or trash directory, or (from a version
 * that built copies in place) a directory without meta.json, which is renamed in last, so that
 * no copy without it was ever acknowledged.
 */
async function isLeftover(dir: string): Promise<boolean> {
  if (dir.endsWith(CREATING_SUFFIX) || dir.endsWith(DELETING_SUFFIX)) return true;
  return !(await exists(join(dir, 'meta.json')));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
