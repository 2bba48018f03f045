// A local cluster's ports and secrets: chosen once and kept in <dir>/cluster.json (mode 0600), so a
// restarted cluster finds its state and the CLI finds the API, the operator token and the CA.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NbdTlsMode } from '../storage-node/transport/nbd-tls.js';
import { newPostgresPassword } from './embedded-postgres-process.js';
import { freePort } from './processes.js';

export interface Layout {
  clusterSecret: string;
  operatorToken: string;
  apiPort: number;
  /** Every API process's port, `apiPort` first (BLACKSTART_APIS > 1). */
  apiPorts: number[];
  temporalPort: number;
  uiPort: number | null;
  /** The embedded PostgreSQL's port and its `postgres` user's password. */
  postgresPort: number;
  postgresPassword: string;
  controlPort: number;
  nodePorts: Record<string, number>;
  /** What the nodes run now: the CLI's attach takes <dir>/certs/ca.pem only while it is not off. */
  nbdTls: NbdTlsMode;
}

/** What the cluster's options say about its layout (cluster/local-cluster.ts ClusterOptions). */
export interface LayoutOptions {
  dir: string;
  nodes: { nodeId: string }[];
  apiPort?: number;
  /** How many API processes (default 1). */
  apis?: number;
  temporalPort?: number;
  uiPort?: number | null;
  nbdTls?: NbdTlsMode;
}

/** Ports and secrets are chosen once and kept in the cluster dir, so a restart finds its state. */
export async function loadLayout(opts: LayoutOptions): Promise<Layout> {
  const path = join(opts.dir, 'cluster.json');
  // `pglitePort`: the embedded database's port before PostgreSQL replaced PGlite.
  const saved: Partial<Layout> & { pglitePort?: number } = existsSync(path) ? JSON.parse(await readFile(path, 'utf8')) : {};
  const nodePorts = { ...saved.nodePorts };
  // The OS may hand the same free port out twice before anything binds it: keep them distinct.
  const taken = new Set<number>([...Object.values(nodePorts), ...(saved.apiPorts ?? [])]);
  const distinctPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) return (taken.add(port), port);
    }
  };
  for (const n of opts.nodes) nodePorts[n.nodeId] ??= await distinctPort();
  const apiPort = opts.apiPort ?? saved.apiPort ?? (await distinctPort());
  const apiPorts = [apiPort, ...(saved.apiPorts ?? []).slice(1, opts.apis ?? 1)];
  // `npm start` names the first API's port (8080): the others follow it (8081, …).
  while (apiPorts.length < (opts.apis ?? 1)) apiPorts.push(opts.apiPort ? opts.apiPort + apiPorts.length : await distinctPort());
  const layout: Layout = {
    clusterSecret: saved.clusterSecret ?? randomBytes(32).toString('base64url'),
    operatorToken: saved.operatorToken ?? `bso_${randomBytes(24).toString('base64url')}`,
    apiPort,
    apiPorts,
    temporalPort: opts.temporalPort ?? saved.temporalPort ?? (await distinctPort()),
    uiPort: opts.uiPort === null ? null : (opts.uiPort ?? saved.uiPort ?? (await distinctPort())),
    postgresPort: saved.postgresPort ?? saved.pglitePort ?? (await distinctPort()),
    postgresPassword: saved.postgresPassword ?? newPostgresPassword(),
    controlPort: saved.controlPort ?? (await distinctPort()),
    nodePorts,
    nbdTls: opts.nbdTls ?? 'off',
  };
  await writeLayout(opts.dir, layout);
  return layout;
}

export async function writeLayout(dir: string, layout: Layout): Promise<void> {
  await writeFile(join(dir, 'cluster.json'), JSON.stringify(layout, null, 2), { mode: 0o600 });
}
