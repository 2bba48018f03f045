// The Temporal Web UI server (github.com/temporalio/ui-server/v2, built by
// scripts/ensure-temporal-server.sh when the module proxy serves what it needs) beside the
// Temporal server on Postgres. The dev server has the UI built in; this is its counterpart.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, type ProcessSpec } from './processes.js';

export interface UiOptions {
  /** The directory holding the built `ui-server` (the ensure script's output). */
  bin: string;
  dir: string;
  temporalAddress: string;
  port: number;
  logDir: string;
}

/** The UI server's config file (its loader reads `<root>/<config>/<env>.yaml`). */
export function uiConfig(opts: { temporalAddress: string; port: number; host: string }): string {
  return `# Written by cluster/temporal-ui.ts.
temporalGrpcAddress: ${opts.temporalAddress}
host: ${opts.host}
port: ${opts.port}
enableUi: true
defaultNamespace: default
disableNewsFetch: true
notifyOnNewVersion: false
`;
}

/** The UI server process, or null when it was not built (the ensure script says why). */
export async function uiServerProcess(opts: UiOptions): Promise<ManagedProcess | null> {
  const binary = join(opts.bin, 'ui-server');
  if (!existsSync(binary)) return null;
  await mkdir(join(opts.dir, 'temporal-ui'), { recursive: true });
  await writeFile(join(opts.dir, 'temporal-ui', 'blackstart.yaml'), uiConfig({ ...opts, host: '127.0.0.1' }));
  return new ManagedProcess({
    name: 'temporal-ui',
    command: binary,
    args: ['--root', opts.dir, '--config', 'temporal-ui', '--env', 'blackstart', 'start'],
    env: {},
    logDir: opts.logDir,
  });
}

/**
 * The UI port the cluster's layout (`cluster.json`, written before anything starts) keeps:
 * null when the cluster runs without a UI (scratch clusters, unless asked).
 */
export async function layoutUiPort(dir: string): Promise<number | null> {
  const text = await readFile(join(dir, 'cluster.json'), 'utf8').catch(() => '{}');
  const port = (JSON.parse(text) as { uiPort?: number | null }).uiPort;
  return typeof port === 'number' && port > 0 ? port : null;
}

/**
 * The server with its UI: starting the server starts the UI if it is not running; a SIGKILL
 * (kill) hits the server only, and the UI reconnects when it returns; stop stops both.
 */
export class ServerWithUi extends ManagedProcess {
  constructor(
    spec: ProcessSpec,
    readonly ui: ManagedProcess,
  ) {
    super(spec);
  }

  override start(): void {
    super.start();
    if (!this.ui.running) this.ui.start();
  }

  override async stop(graceMs?: number): Promise<void> {
    await Promise.all([this.ui.stop(graceMs), super.stop(graceMs)]);
  }
}
