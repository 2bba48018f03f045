// The object layer under the snapshot store: keys to bytes, with the five operations both
// backends (a directory, an S3 bucket) offer with the same meaning. Every write is durable when
// its promise resolves; `create` fails when the key exists (S3's If-None-Match: *, the
// filesystem's link(2)), which is what the garbage collector's lock rests on.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export interface ObjectBackend {
  /** A name for messages: the directory or s3://bucket/prefix. */
  readonly where: string;
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Writes only when no object has the key; false when one has. */
  create(key: string, bytes: Uint8Array): Promise<boolean>;
  /** The object's bytes, or null when there is none. Any other failure throws. */
  get(key: string): Promise<Buffer | null>;
  exists(key: string): Promise<boolean>;
  /** Removes the object; no error when there is none. */
  delete(key: string): Promise<void>;
  /** Every key under the prefix (a prefix ends with '/'), in no particular order. */
  list(prefix: string): Promise<string[]>;
}

/** A directory: key a/b/c is the file <root>/a/b/c, written to a temporary name, fsynced, then renamed. */
export class FsObjects implements ObjectBackend {
  constructor(readonly where: string) {}

  private path(key: string): string {
    return join(this.where, key);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(key);
    const tmp = await writeTemp(path, bytes);
    await rename(tmp, path);
    await syncDir(dirname(path));
  }

  async create(key: string, bytes: Uint8Array): Promise<boolean> {
    const path = this.path(key);
    const tmp = await writeTemp(path, bytes);
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await syncDir(dirname(path));
    return true;
  }

  get(key: string): Promise<Buffer | null> {
    return readFile(this.path(key)).catch(absentAs(null));
  }

  exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(() => true, absentAs(false));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(absentAs([]))) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (!entry.name.endsWith('.tmp')) keys.push(relative(this.where, path));
      }
    };
    await walk(this.path(prefix));
    return keys;
  }
}

/** Only a missing file or directory means "none"; any other error propagates. */
export function absentAs<T>(value: T): (err: unknown) => T {
  return (err) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return value;
    throw err;
  };
}

async function writeTemp(path: string, bytes: Uint8Array): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.write(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  return tmp;
}

async function syncDir(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
