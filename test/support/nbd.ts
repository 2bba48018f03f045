// Real NBD clients from Debian (qemu-img, qemu-io, nbdinfo, nbdcopy, fio) and `blackstart attach`
// as a child process, the way a customer runs them on their own host.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCluster } from './test-cluster.js';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A client process still running or finished; `settled` tells whether it has answered yet. */
export interface RunningTool {
  child: ChildProcess;
  done: Promise<ToolResult>;
  readonly settled: boolean;
  /** What it printed so far. */
  output(): string;
}

export function startTool(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): RunningTool {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let settled = false;
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<ToolResult>((resolve) => {
    child.on('close', (code) => {
      settled = true;
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    done,
    get settled() {
      return settled;
    },
    output: () => stdout + stderr,
  };
}

/** Runs a client to completion (killed after `timeoutMs`). */
export async function runTool(command: string, args: string[], timeoutMs = 60_000): Promise<ToolResult> {
  const tool = startTool(command, args);
  const timer = setTimeout(() => tool.child.kill('SIGKILL'), timeoutMs);
  try {
    return await tool.done;
  } finally {
    clearTimeout(timer);
  }
}

export interface AttachedVolume {
  uri: string;
  process: RunningTool;
  stop(): Promise<void>;
}

/**
 * `blackstart attach VOLUME --socket PATH [--review]` (or `--port 0`) with the given customer API
 * key; `ca`: BLACKSTART_CA (default: the cluster's CA when its nodes speak TLS).
 */
export async function attachVolume(
  t: TestCluster,
  volumeId: string,
  apiKey: string,
  opts: { review?: boolean; tcp?: boolean; ca?: string } = {},
): Promise<AttachedVolume> {
  const socket = join(await mkdtemp(join(tmpdir(), 'attach-')), 'nbd.sock');
  const on = opts.tcp ? ['--port', '0'] : ['--socket', socket];
  const args = ['dist/cli/main.js', 'attach', volumeId, ...on, ...(opts.review ? ['--review'] : [])];
  const tool = startTool(process.execPath, args, {
    ...process.env,
    BLACKSTART_API_URL: t.cluster.apiUrls.join(','),
    BLACKSTART_API_KEY: apiKey,
    BLACKSTART_OPERATOR_TOKEN: '',
    BLACKSTART_CA: opts.ca ?? t.cluster.nbdCerts?.ca ?? '',
  });
  const deadline = Date.now() + 20_000;
  while (!/attached .* at (\S+)/.test(tool.output())) {
    if (tool.settled) throw new Error(`attach exited: ${tool.output()}`);
    if (Date.now() > deadline) throw new Error(`attach did not start: ${tool.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    uri: /attached .* at (\S+)/.exec(tool.output())![1]!,
    process: tool,
    async stop() {
      if (!tool.settled) tool.child.kill('SIGTERM');
      await tool.done;
    },
  };
}

/** `blackstart attach` expected to fail: its exit code and message. */
export async function attachFails(t: TestCluster, volumeId: string, apiKey: string): Promise<ToolResult> {
  const tool = startTool(process.execPath, ['dist/cli/main.js', 'attach', volumeId, '--port', '0'], {
    ...process.env,
    BLACKSTART_API_URL: t.cluster.apiUrls.join(','),
    BLACKSTART_API_KEY: apiKey,
  });
  const timer = setTimeout(() => tool.child.kill('SIGKILL'), 20_000);
  const result = await tool.done;
  clearTimeout(timer);
  return result;
}

/** Runs a client as the local user `nobody`: another user of the customer's host. */
export function runAsNobody(command: string, args: string[]): Promise<ToolResult> {
  return runTool('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', command, ...args]);
}

/** `qemu-io` on an NBD URI: one process, the given commands in order (e.g. `write -P 0x5a 0 4k`). */
export function qemuIo(uri: string, commands: string[], opts: { readOnly?: boolean } = {}): RunningTool {
  return startTool('qemu-io', ['-f', 'raw', ...(opts.readOnly ? ['-r'] : []), ...commands.flatMap((c) => ['-c', c]), uri]);
}

export async function nbdInfo(uri: string): Promise<Record<string, unknown>> {
  const r = await runTool('nbdinfo', ['--json', '--no-content', uri]);
  if (r.code !== 0) throw new Error(`nbdinfo failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { exports: Record<string, unknown>[] }).exports[0]!;
}
