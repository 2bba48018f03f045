// Real block clients for the harness (and bench/nbd.ts): `blackstart attach` as a child process
// on a unix socket, as a customer runs it, and `qemu-io` writing a byte pattern through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST } from '../cluster/paths.js';

export interface Tool {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process closed. */
  done: Promise<number | null>;
  readonly settled: boolean;
  /** Everything it printed so far, stdout then stderr interleaved. */
  output(): string;
}

/** Spawns a process with its output captured. */
export function spawnTool(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Tool {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let settled = false;
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<number | null>((resolve) => {
    child.on('error', (err) => (out += `\n${err.message}`));
    child.on('close', (code) => {
      settled = true;
      resolve(code);
    });
  });
  return {
    child,
    done,
    get settled() {
      return settled;
    },
    output: () => out,
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopTool(tool: Tool, graceMs = 5000): Promise<void> {
  if (tool.settled) return;
  tool.child.kill('SIGTERM');
  const timer = setTimeout(() => tool.child.kill('SIGKILL'), graceMs);
  await tool.done;
  clearTimeout(timer);
}

export interface AttachOptions {
  apiUrl: string;
  apiKey: string;
  volumeId: string;
  review?: boolean;
  /** Extra node flags before the script, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR]. */
  nodeArgs?: string[];
  /** The cluster CA (BLACKSTART_CA): the attach process reaches the nodes over TLS only. */
  ca?: string;
  startTimeoutMs?: number;
}

export interface AttachProcess {
  uri: string;
  socketPath: string;
  tool: Tool;
  stop(): Promise<void>;
}

const ATTACHED = /attached .* at (\S+)/;

/** `blackstart attach VOLUME --socket PATH [--review]`; resolves once it listens. */
export async function startAttach(opts: AttachOptions): Promise<AttachProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'blackstart-attach-'));
  const socketPath = join(dir, 'nbd.sock');
  const args = [
    ...(opts.nodeArgs ?? []),
    join(DIST, 'cli', 'main.js'),
    'attach',
    opts.volumeId,
    '--socket',
    socketPath,
    ...(opts.review ? ['--review'] : []),
  ];
  const tool = spawnTool(process.execPath, args, {
    ...process.env,
    BLACKSTART_API_URL: opts.apiUrl,
    BLACKSTART_API_KEY: opts.apiKey,
    BLACKSTART_OPERATOR_TOKEN: '',
    BLACKSTART_CA: opts.ca ?? '',
  });
  const stop = async () => {
    await stopTool(tool);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  while (!ATTACHED.test(tool.output())) {
    if (tool.settled || Date.now() > deadline) {
      await stop();
      throw new Error(`blackstart attach ${opts.volumeId} ${tool.settled ? 'exited' : 'did not start'}: ${tool.output().trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { uri: ATTACHED.exec(tool.output())![1]!, socketPath, tool, stop };
}

export interface QemuIoOutcome {
  /** Exit 0 and `wrote N/N bytes`: the block client saw the write acknowledged. */
  acknowledged: boolean;
  code: number | null;
  output: string;
}

/** `qemu-io -f raw -c 'write -P BYTE OFFSET LENGTH' URI`: one write, a byte pattern. */
export function qemuIoWrite(uri: string, pattern: number, offset: number, length: number): { tool: Tool; outcome: Promise<QemuIoOutcome> } {
  const tool = spawnTool('qemu-io', ['-f', 'raw', '-c', `write -P ${pattern} ${offset} ${length}`, uri]);
  const outcome = tool.done.then((code) => ({
    acknowledged: code === 0 && new RegExp(`wrote ${length}/${length} bytes`).test(tool.output()),
    code,
    output: tool.output().trim(),
  }));
  return { tool, outcome };
}

/** A scenario's attach endpoints (one per volume) and the NBD clients it started: all stopped at its end. */
export class ScenarioAttachments {
  private readonly attached = new Map<string, AttachProcess>();
  private readonly clients = new Set<Tool>();
  /** The stopped attach processes' connections to nodes, by whether TLS carried them (each logs a line per connection). */
  readonly connections = { overTls: 0, plaintext: 0 };

  constructor(
    private readonly apiUrl: string,
    private readonly apiKey: string,
    /** The cluster CA when its nodes speak TLS. */
    private readonly ca?: string,
  ) {}

  async attach(volumeId: string): Promise<AttachProcess> {
    const existing = this.attached.get(volumeId);
    if (existing) return existing;
    const a = await startAttach({ apiUrl: this.apiUrl, apiKey: this.apiKey, volumeId, ca: this.ca });
    this.attached.set(volumeId, a);
    return a;
  }

  uri(volumeId: string): string {
    const a = this.attached.get(volumeId);
    if (!a) throw new Error(`volume ${volumeId} is not attached`);
    return a.uri;
  }

  /** One qemu-io write through the volume's attach endpoint. */
  write(volumeId: string, pattern: number, offset: number, length: number): Promise<QemuIoOutcome> {
    const { tool, outcome } = qemuIoWrite(this.uri(volumeId), pattern, offset, length);
    this.clients.add(tool);
    return outcome.finally(() => this.clients.delete(tool));
  }

  /** The attach processes' output, for a diagnosis. */
  logs(): string[] {
    return [...this.attached].map(([v, a]) => `${v}: ${a.tool.output().trim().split('\n').slice(-5).join(' | ')}`);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.clients].map((t) => stopTool(t, 1000)));
    await Promise.all([...this.attached.values()].map((a) => a.stop()));
    for (const a of this.attached.values()) {
      for (const line of a.tool.output().match(/attach: connected to .*/g) ?? []) {
        if (line.endsWith(' over TLS')) this.connections.overTls++;
        else this.connections.plaintext++;
      }
    }
    this.attached.clear();
  }
}
