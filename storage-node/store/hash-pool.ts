// Chunk SHA-256s and block CRC32Cs of a file, computed on worker threads: one per core, each
// reading its own ranges of the file (pread from the page cache is cheap next to the hashing),
// so a scan runs on every core instead of one. Same hashes as the in-thread path, byte for byte.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CHUNK_BYTES } from '../../common/chunks.js';
import { BLOCK_SIZE } from '../../common/types.js';

/** What a scan of a file finds: every chunk's SHA-256 (hex) and every block's CRC32C, in order. */
export interface FileHashes {
  chunkHashes: string[];
  crcs: Uint32Array;
}

interface Task {
  path: string;
  start: number;
  end: number;
}
interface TaskResult {
  hashes: string[];
  crcs: Uint32Array;
  /** The file ended before `end`: later ranges hold nothing. */
  eof: boolean;
}
type Reply = ({ ok: true } & TaskResult) | { ok: false; error: string };

const TASK_BYTES = 64 * CHUNK_BYTES;
const READ_BYTES = 4 * CHUNK_BYTES;

// Plain JavaScript run with `eval`: it loads the same way from dist/ and under vitest (which runs
// the TypeScript sources, where a worker file of its own would not exist as .js).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const { crc32c } = require(workerData.crcModule);
const { chunkBytes, blockSize, readBytes } = workerData;
const buf = Buffer.allocUnsafe(readBytes);
function hashRange({ path, start, end }) {
  const hashes = [];
  const crcs = new Uint32Array(Math.ceil((end - start) / blockSize));
  let blocks = 0;
  let eof = false;
  const fd = openSync(path, 'r');
  try {
    for (let pos = start; pos < end && !eof; pos += readBytes) {
      const len = Math.min(readBytes, end - pos);
      const got = readSync(fd, buf, 0, len, pos);
      eof = got < len;
      for (let at = 0; at < got; at += chunkBytes) {
        const chunk = buf.subarray(at, Math.min(got, at + chunkBytes));
        hashes.push(createHash('sha256').update(chunk).digest('hex'));
        for (let b = 0; b < chunk.length; b += blockSize) crcs[blocks++] = crc32c(chunk.subarray(b, b + blockSize));
      }
    }
  } finally {
    closeSync(fd);
  }
  return { hashes, crcs: blocks === crcs.length ? crcs : crcs.slice(0, blocks), eof };
}
parentPort.on('message', (task) => {
  try {
    const result = hashRange(task);
    parentPort.postMessage({ ok: true, ...result }, [result.crcs.buffer]);
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String((err && err.message) || err) });
  }
});
`;

class HashWorker {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (r: TaskResult) => void; reject: (e: Error) => void }[] = [];

  constructor(crcModule: string, onBroken: () => void) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { crcModule, chunkBytes: CHUNK_BYTES, blockSize: BLOCK_SIZE, readBytes: READ_BYTES },
    });
    this.worker.unref(); // an idle pool must not keep the process alive
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    const fail = (err: unknown) => {
      onBroken();
      for (const w of this.waiting.splice(0)) w.reject(err instanceof Error ? err : new Error(`hash worker exited (${String(err)})`));
    };
    this.worker.on('error', fail);
    this.worker.on('exit', fail);
  }

  get busy(): number {
    return this.waiting.length;
  }

  run(task: Task): Promise<TaskResult> {
    if (this.waiting.length === 0) this.worker.ref(); // a scan in progress keeps it alive
    this.worker.postMessage(task);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private settle(reply: Reply): void {
    const waiter = this.waiting.shift()!;
    if (this.waiting.length === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply);
    else waiter.reject(new Error(reply.error));
  }
}

export class HashPool {
  private readonly workers: HashWorker[];
  private broken = false;

  constructor(size: number, crcModule: string) {
    this.workers = Array.from({ length: size }, () => new HashWorker(crcModule, () => (this.broken = true)));
  }

  /** False once a worker died: callers hash in-thread from then on. */
  get usable(): boolean {
    return !this.broken;
  }

  /**
   * Hashes the first `sizeBytes` of the file at `path` as the in-thread scan would: chunks of
   * CHUNK_BYTES, blocks of BLOCK_SIZE, the last ones short, and nothing past the end of the file.
   */
  async hashFile(path: string, sizeBytes: number, taskBytes = TASK_BYTES): Promise<FileHashes> {
    const tasks: Task[] = [];
    const step = Math.max(CHUNK_BYTES, Math.floor(taskBytes / CHUNK_BYTES) * CHUNK_BYTES);
    for (let start = 0; start < sizeBytes; start += step) tasks.push({ path, start, end: Math.min(sizeBytes, start + step) });
    const results = await Promise.all(tasks.map((task) => this.leastBusy().run(task)));
    return joinResults(results);
  }

  async close(): Promise<void> {
    this.broken = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private leastBusy(): HashWorker {
    return this.workers.reduce((best, w) => (w.busy < best.busy ? w : best));
  }
}

function joinResults(results: TaskResult[]): FileHashes {
  const upTo = results.findIndex((r) => r.eof);
  const used = upTo < 0 ? results : results.slice(0, upTo + 1);
  const crcs = new Uint32Array(used.reduce((n, r) => n + r.crcs.length, 0));
  let at = 0;
  for (const r of used) {
    crcs.set(r.crcs, at);
    at += r.crcs.length;
  }
  return { chunkHashes: used.flatMap((r) => r.hashes), crcs };
}

/** Below this a scan is hashed in-thread: handing it to workers would cost more than it saves. */
export const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;

let shared: HashPool | null | undefined;

/**
 * The process's pool, started on first use: one worker per core, none on a single core or
 * without the native CRC32C (the workers use only that). Null: hash in-thread.
 */
export function sharedHashPool(): HashPool | null {
  if (shared === undefined) shared = startPool();
  return shared?.usable ? shared : null;
}

function startPool(): HashPool | null {
  const size = availableParallelism();
  if (size < 2) return null;
  try {
    return new HashPool(size, createRequire(import.meta.url).resolve('@node-rs/crc32'));
  } catch {
    return null;
  }
}
