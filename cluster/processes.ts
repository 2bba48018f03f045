// Child processes of a local cluster: each logs to its own file and can be SIGKILLed and restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  logDir: string;
}

export class ManagedProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | null {
    return this.running ? (this.child!.pid ?? null) : null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    const log = createWriteStream(join(this.spec.logDir, `${this.spec.name}.log`), { flags: 'a' });
    const child = spawn(this.spec.command, this.spec.args, {
      env: { ...process.env, BLACKSTART_PARENT_PID: String(process.pid), ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
  }

  /** Throws when the process died: a probe waiting for it to be ready should stop waiting. */
  assertAlive(): void {
    if (this.child && !this.running) {
      throw new Error(
        `${this.spec.name} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}); see ${join(this.spec.logDir, this.spec.name + '.log')}`,
      );
    }
  }

  /** Power loss: SIGKILL, no chance to write a clean-shutdown marker. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** Clean stop: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Listening ports come from below Linux's ephemeral range (32768–60999): a port picked from that
 * range can be taken, while its node is down, by any outgoing connection's local port, and the
 * restarted node then cannot listen (a 200-node fleet run lost a node that way).
 */
const PORT_RANGE = { first: 20_000, last: 32_767 };

const RANGE_SIZE = PORT_RANGE.last - PORT_RANGE.first + 1;
/** Ports are handed out in turn from a random start: one process never hands out a port twice. */
let nextPort = PORT_RANGE.first + Math.floor(Math.random() * RANGE_SIZE);

/** A port nothing listens on now, from PORT_RANGE. */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < RANGE_SIZE; tried++) {
    const port = nextPort;
    nextPort = port === PORT_RANGE.last ? PORT_RANGE.first : port + 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.first}–${PORT_RANGE.last}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Polls `probe` until it yields a value; gives up at the deadline, or at once if `proc` died. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
  proc?: ManagedProcess,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    proc?.assertAlive();
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
