// The Temporal CLI's dev server as a child process: file-backed (SQLite), search attributes registered.
import { Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../common/messages.js';
import { ROOT } from './paths.js';
import { ManagedProcess, waitFor } from './processes.js';

const ENSURE_SCRIPT = join(ROOT, 'scripts', 'ensure-temporal.sh');

/** The Temporal CLI binary: $TEMPORAL_CLI, `temporal` on PATH, or a cached `go install` build. */
export function temporalBinary(): string {
  return execFileSync('bash', [ENSURE_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * WAL with synchronous=normal doubles the dev server's workflow throughput here (no-op ceiling
 * 21.6 → 44.6 workflows/s on 2 cores). A killed server process loses nothing; only a crash of
 * the machine itself may lose the last transactions — the local topology's trade.
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export interface TemporalOptions {
  dir: string;
  port: number;
  uiPort: number | null;
  logDir: string;
}

export function temporalProcess(opts: TemporalOptions, binary = temporalBinary()): ManagedProcess {
  const attributes = Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
  const ui = opts.uiPort === null ? ['--headless'] : ['--ui-port', String(opts.uiPort)];
  return new ManagedProcess({
    name: 'temporal',
    command: binary,
    args: [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(opts.port),
      '--db-filename',
      join(opts.dir, 'temporal.db'),
      '--log-level',
      'warn',
      ...ui,
      ...attributes,
      ...SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
    ],
    env: {},
    logDir: opts.logDir,
  });
}

export async function waitForTemporal(address: string, timeoutMs: number, proc: ManagedProcess): Promise<void> {
  await waitFor(
    `Temporal at ${address}`,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    },
    timeoutMs,
    250,
    proc,
  );
}
