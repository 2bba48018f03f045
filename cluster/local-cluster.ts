// A whole Blackstart cluster on one machine, as real processes: the Temporal dev server, the
// embedded Postgres default (unless DATABASE_URL is given), the API, a worker and N storage nodes.
// `npm start`, the CLI's power-fail commands and the integration tests all drive this.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Env } from '../common/config.js';
import { inDomain, parseDomainPath, type DomainLevel } from '../common/failure-domain.js';
import { joinToken } from '../common/tokens.js';
import { requestJson } from '../common/http.js';
import { DIST } from './paths.js';
import { embeddedPostgresProcess, waitForPostgres } from './embedded-postgres-process.js';
import { loadLayout, writeLayout, type Layout } from './layout.js';
import { NetworkHosts } from './network-hosts.js';
import { ensureNodeCerts, nodeTlsEnv, type NodeCerts } from './node-certs.js';
import { postgresUrl } from './postgres-server.js';
import { ManagedProcess, freePort, waitFor } from './processes.js';
import { postgresTemporalProcess, registerNamespace, temporalKind } from './temporal-postgres.js';
import { temporalBinary, temporalProcess, waitForTemporal } from './temporal-server.js';
import type { NbdTlsMode } from '../storage-node/transport/nbd-tls.js';

export interface NodeSpec {
  nodeId: string;
  domainPath: string;
}

export interface ClusterOptions {
  dir: string;
  nodes: NodeSpec[];
  databaseUrl?: string;
  apiPort?: number;
  temporalPort?: number;
  uiPort?: number | null;
  /** Extra environment for every child: timings, limits. */
  env?: Record<string, string>;
  /**
   * Storage nodes per OS process (default 1). Nodes share a process only with nodes of their own
   * power domain, so killing a process is still a power-domain event.
   */
  nodesPerProcess?: number;
  /**
   * Each storage node in a network namespace of its own (cluster/network-plan.ts), the control
   * plane on the bridges' side, so network faults can be injected (`network.faults`). Root only.
   */
  networkHosts?: boolean;
  /** The nodes' NBD over TLS (NODE_NBD_TLS; default off), with certificates from a CA in <dir>/certs. */
  nbdTls?: NbdTlsMode;
  /** API processes (default BLACKSTART_APIS, else 1): nodes, attach, the CLI and the console move between them. */
  apis?: number;
  /** Worker processes (default BLACKSTART_WORKERS, else 1): Temporal spreads the tasks between them. */
  workers?: number;
  /** Extra `node` flags for the storage node processes (a benchmark's `--perf-basic-prof`). */
  nodeFlags?: string[];
}

export class LocalCluster {
  /** Each node's process (shared by several nodes when nodesPerProcess > 1). */
  readonly nodes = new Map<string, ManagedProcess>();
  private temporal!: ManagedProcess;
  private postgres: ManagedProcess | null = null;
  readonly apis: ManagedProcess[] = [];
  readonly workers: ManagedProcess[] = [];
  databaseUrl!: string;
  network: NetworkHosts | null = null;
  /** The nodes' NBD certificates and the cluster CA, when NBD over TLS is on. */
  nbdCerts: NodeCerts | null = null;

  private constructor(
    readonly opts: ClusterOptions,
    readonly layout: Layout,
  ) {}

  /** Where the API listens and nodes reach it: loopback, or the control plane's address on the hosts' network. */
  get controlHost(): string {
    return this.network?.plan.controlAddress ?? '127.0.0.1';
  }
  /** The first API process, and its URL: what a single-API caller uses. */
  get api(): ManagedProcess {
    return this.apis[0]!;
  }
  get worker(): ManagedProcess {
    return this.workers[0]!;
  }
  get apiUrl(): string {
    return this.apiUrls[0]!;
  }
  get apiUrls(): string[] {
    return this.layout.apiPorts.map((port) => `http://${this.controlHost}:${port}`);
  }
  get temporalAddress(): string {
    return `127.0.0.1:${this.layout.temporalPort}`;
  }
  get uiUrl(): string | null {
    return this.layout.uiPort ? `http://127.0.0.1:${this.layout.uiPort}` : null;
  }
  get operatorToken(): string {
    return this.layout.operatorToken;
  }
  /** The high-durability store: apart from every node's data dir. */
  get snapshotStoreDir(): string {
    return join(this.opts.dir, 'snapshot-store');
  }
  get logDir(): string {
    return join(this.opts.dir, 'logs');
  }
  nodeUrl(nodeId: string): string {
    return `http://${this.network?.address(nodeId) ?? '127.0.0.1'}:${this.layout.nodePorts[nodeId]}`;
  }

  static async start(opts: ClusterOptions, progress: (msg: string) => void = () => undefined): Promise<LocalCluster> {
    await mkdir(join(opts.dir, 'logs'), { recursive: true });
    const env = new Env();
    const fromEnv = processCounts(env);
    env.check();
    const counts = { apis: opts.apis ?? fromEnv.apis, workers: opts.workers ?? fromEnv.workers };
    const cluster = new LocalCluster({ ...opts, ...counts }, await loadLayout({ ...opts, ...counts }));
    try {
      await cluster.boot(progress);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async boot(progress: (msg: string) => void): Promise<void> {
    if (this.opts.networkHosts) {
      if ((this.opts.nodesPerProcess ?? 1) !== 1) throw new Error('networkHosts runs one node per process (one namespace each)');
      progress('creating a network namespace for each storage node');
      this.network = await NetworkHosts.create(this.opts.nodes);
    }
    const postgres = temporalKind() === 'postgres'; // BLACKSTART_TEMPORAL=postgres: the Temporal server on Postgres
    progress(postgres ? 'starting the Temporal server on Postgres' : 'starting Temporal dev server');
    this.temporal = postgres
      ? await postgresTemporalProcess({ dir: this.opts.dir, port: this.layout.temporalPort, logDir: this.logDir })
      : temporalProcess(
          { dir: this.opts.dir, port: this.layout.temporalPort, uiPort: this.layout.uiPort, logDir: this.logDir },
          temporalBinary(),
        );
    this.temporal.start();
    const { postgresPort: port, postgresPassword: password } = this.layout;
    if (!this.opts.databaseUrl) {
      progress('starting embedded PostgreSQL 18');
      this.postgres = embeddedPostgresProcess({ dataDir: join(this.opts.dir, 'pgdata'), port, password, logDir: this.logDir });
      this.postgres.start();
    }
    this.databaseUrl = this.opts.databaseUrl ?? postgresUrl(port, password);
    await waitForTemporal(this.temporalAddress, 120_000, this.temporal);
    if (postgres) await registerNamespace(this.temporalAddress);
    await waitForPostgres(this.databaseUrl, this.postgres ?? undefined);
    const shared = {
      DATABASE_URL: this.databaseUrl,
      TEMPORAL_ADDRESS: this.temporalAddress,
      CLUSTER_SECRET: this.layout.clusterSecret,
      SNAPSHOT_STORE: this.snapshotStoreDir,
      ...this.opts.env,
    };
    progress(`starting the control plane: ${this.layout.apiPorts.length} API and ${this.opts.workers} worker process(es)`);
    // With several APIs the console moves between them too; `env` may still name others.
    const consoleUrls: Record<string, string> = this.apiUrls.length > 1 ? { CONSOLE_API_URLS: this.apiUrls.join(',') } : {};
    this.layout.apiPorts.forEach((port, i) =>
      this.apis.push(
        this.child(numbered('api', i), 'api/main.js', {
          ...consoleUrls,
          ...shared,
          API_PORT: String(port),
          API_BIND: this.controlHost,
          OPERATOR_TOKEN: this.layout.operatorToken,
        }),
      ),
    );
    for (let i = 0; i < this.opts.workers!; i++) this.workers.push(this.child(numbered('worker', i), 'workers/main.js', shared));
    await Promise.all(this.apis.map((_, i) => this.startApi(i)));
    await Promise.all(this.workers.map((_, i) => this.startWorker(i)));
    if ((this.opts.nbdTls ?? 'off') !== 'off')
      this.nbdCerts = await ensureNodeCerts(join(this.opts.dir, 'certs'), this.opts.nodes, (id) => this.network?.address(id));
    progress(`starting ${this.opts.nodes.length} storage nodes`);
    for (const group of hostGroups(this.opts.nodes, this.opts.nodesPerProcess ?? 1)) {
      const host = this.nodeProcess(group);
      for (const spec of group) this.nodes.set(spec.nodeId, host);
    }
    await Promise.all(this.hosts().map((h) => this.startHost(h)));
    await this.waitForRegistration();
  }

  /** A node answers health before it has registered; volumes can be placed once the API lists every node in service. */
  private async waitForRegistration(): Promise<void> {
    const ids = this.opts.nodes.map((n) => n.nodeId);
    await waitFor(
      'every node to register',
      async () => {
        const { nodes } = await requestJson<{ nodes: { nodeId: string; state: string }[] }>(`${this.apiUrl}/v1/operator/fleet`, {
          token: this.operatorToken,
          timeoutMs: 2000,
        });
        const inService = new Set(nodes.filter((n) => n.state === 'in-service').map((n) => n.nodeId));
        return ids.every((id) => inService.has(id));
      },
      60_000,
      100,
    );
  }

  /** `netns`: the `ip` arguments that run it inside a network namespace. */
  private child(name: string, script: string, env: Record<string, string>, netns: string[] = [], flags: string[] = []): ManagedProcess {
    const node = [process.execPath, '--enable-source-maps', ...cpuProfileFlags(name), ...flags, join(DIST, script)];
    return new ManagedProcess({
      name,
      command: netns.length > 0 ? 'ip' : node[0]!,
      args: netns.length > 0 ? [...netns, ...node] : node.slice(1),
      env,
      logDir: this.logDir,
    });
  }

  private nodeProcess(group: NodeSpec[]): ManagedProcess {
    const perNode = group.map((spec) => ({
      NODE_ID: spec.nodeId,
      NODE_PORT: String(this.layout.nodePorts[spec.nodeId]),
      NODE_DATA_DIR: join(this.opts.dir, 'nodes', spec.nodeId),
      NODE_DOMAIN: spec.domainPath,
      ...(this.nbdCerts ? nodeTlsEnv(this.nbdCerts, this.opts.nbdTls!, spec.nodeId) : {}),
    }));
    const name = group.length === 1 ? group[0]!.nodeId : `nodes-${group[0]!.nodeId}-${group.length}`;
    const env = {
      ...(group.length === 1 ? perNode[0] : { NODE_HOST_SPEC: JSON.stringify(perNode) }),
      CONTROL_PLANE_URL: this.apiUrls.join(','),
      JOIN_TOKEN: joinToken(this.layout.clusterSecret),
      SNAPSHOT_STORE: this.snapshotStoreDir,
      ...this.opts.env,
    };
    const flags = this.opts.nodeFlags ?? [];
    if (!this.network) return this.child(name, 'storage-node/main.js', env, [], flags);
    const { nodeId } = group[0]!;
    const onHost = { NODE_BIND: this.network.address(nodeId), NODE_ADVERTISE_URL: this.nodeUrl(nodeId) };
    return this.child(name, 'storage-node/main.js', { ...env, ...onHost }, this.network.execPrefix(nodeId), flags);
  }

  /** Starts API process `i` (default the first) and waits until it answers. */
  async startApi(i = 0): Promise<void> {
    const api = this.apis[i]!;
    api.start();
    await waitFor(api.spec.name, () => requestJson(`${this.apiUrls[i]}/healthz`, { timeoutMs: 1000 }), 60_000, 100, api);
  }

  /** Starts worker process `i` (default the first) and waits until it polls. */
  async startWorker(i = 0): Promise<void> {
    const worker = this.workers[i]!;
    const logPath = join(this.logDir, `${worker.spec.name}.log`);
    const before = existsSync(logPath) ? readFileSync(logPath, 'utf8').length : 0;
    worker.start();
    await waitFor(
      worker.spec.name,
      async () => existsSync(logPath) && readFileSync(logPath, 'utf8').slice(before).includes('worker polling'),
      60_000,
      100,
      worker,
    );
  }

  /** A crash of the Temporal server process: SIGKILL, nothing written on the way out. */
  async killTemporal(): Promise<void> {
    await this.temporal.kill();
  }

  /** Starts the Temporal server again on the same port and SQLite file. */
  async startTemporal(): Promise<void> {
    this.temporal.start();
    await waitForTemporal(this.temporalAddress, 120_000, this.temporal);
  }

  private hosts(): ManagedProcess[] {
    return [...new Set(this.nodes.values())];
  }

  private nodesOf(host: ManagedProcess): string[] {
    return [...this.nodes].filter(([, h]) => h === host).map(([id]) => id);
  }

  /** Starts a node process and waits until every node in it answers. */
  private async startHost(host: ManagedProcess, attempt = 0): Promise<void> {
    const ids = this.nodesOf(host);
    const logPath = join(this.logDir, `${host.spec.name}.log`);
    const logStart = existsSync(logPath) ? readFileSync(logPath).length : 0;
    host.start();
    try {
      await Promise.all(
        ids.map((id) =>
          waitFor(`node ${id}`, () => requestJson(`${this.nodeUrl(id)}/v1/health`, { timeoutMs: 1000 }), bootWaitMs(ids.length), 100, host),
        ),
      );
    } catch (err) {
      // Another process (the Temporal server picks random ports too) took a node's port between
      // choosing and binding: choose again, and keep the new ports for later restarts.
      const lostRace = readFileSync(logPath).subarray(logStart).includes('EADDRINUSE');
      if (!lostRace || attempt >= 3) throw err;
      for (const id of ids) this.layout.nodePorts[id] = await freePort();
      await writeLayout(this.opts.dir, this.layout);
      const replacement = this.nodeProcess(this.opts.nodes.filter((n) => ids.includes(n.nodeId)));
      for (const id of ids) this.nodes.set(id, replacement);
      await this.startHost(replacement, attempt + 1);
    }
  }

  /** Starts (or restarts) a node's process, unless it runs already. */
  async startNode(nodeId: string): Promise<void> {
    if (!this.node(nodeId).running) await this.startHost(this.node(nodeId));
  }

  /** Power loss: SIGKILL of the node's process (and so of every node it hosts). */
  async killNode(nodeId: string): Promise<void> {
    await this.node(nodeId).kill();
  }

  /** The nodes inside a failure domain, e.g. ('power', 'p1'); level 'node' names one node. */
  nodesIn(level: DomainLevel | 'node', name: string): string[] {
    const ids = this.opts.nodes
      .filter((n) => (level === 'node' ? n.nodeId === name : inDomain(parseDomainPath(n.domainPath), level, name)))
      .map((n) => n.nodeId);
    if (ids.length === 0) throw new Error(`no node in ${level} ${name}`);
    return ids;
  }

  /** Power loss of a whole failure domain: every node in it is SIGKILLed at once. */
  async powerFail(level: DomainLevel | 'node', name: string): Promise<string[]> {
    const ids = this.nodesIn(level, name);
    await Promise.all(ids.map((id) => this.killNode(id)));
    return ids;
  }

  async restore(level: DomainLevel | 'node', name: string): Promise<string[]> {
    const ids = this.nodesIn(level, name).filter((id) => !this.node(id).running);
    await Promise.all([...new Set(ids.map((id) => this.node(id)))].map((host) => this.startHost(host)));
    return ids;
  }

  async keepControlPort(port: number): Promise<void> {
    this.layout.controlPort = port;
    await writeLayout(this.opts.dir, this.layout);
  }

  /** Every running process by role, e.g. for measuring where CPU time goes. */
  processes(): { temporal: ManagedProcess; apis: ManagedProcess[]; workers: ManagedProcess[]; nodes: ManagedProcess[] } {
    return { temporal: this.temporal, apis: this.apis, workers: this.workers, nodes: this.hosts() };
  }

  node(nodeId: string): ManagedProcess {
    const p = this.nodes.get(nodeId);
    if (!p) throw new Error(`no node ${nodeId} in this cluster`);
    return p;
  }

  async stop(): Promise<void> {
    await Promise.all(this.hosts().map((n) => n.stop()));
    await Promise.all([...this.apis, ...this.workers].map((p) => p.stop()));
    await this.postgres?.stop(30_000);
    await this.temporal?.stop();
    await this.network?.teardown();
  }
}

/** The first process of a role keeps its plain name (and log file); later ones are numbered from 2. */
function numbered(role: string, i: number): string {
  return i === 0 ? role : `${role}-${i + 1}`;
}

/** BLACKSTART_APIS and BLACKSTART_WORKERS: how many API and worker processes to start (1 each unless set). */
export function processCounts(env: Env): { apis: number; workers: number } {
  return { apis: env.int('BLACKSTART_APIS', 1, 1, 16), workers: env.int('BLACKSTART_WORKERS', 1, 1, 16) };
}

/** Groups nodes into processes of at most `size`, never mixing power domains. */
function hostGroups(nodes: NodeSpec[], size: number): NodeSpec[][] {
  const byPower = new Map<string, NodeSpec[]>();
  for (const n of nodes) {
    const power = n.domainPath.split('/').slice(0, 4).join('/');
    byPower.set(power, [...(byPower.get(power) ?? []), n]);
  }
  const groups: NodeSpec[][] = [];
  for (const members of byPower.values()) {
    for (let i = 0; i < members.length; i += size) groups.push(members.slice(i, i + size));
  }
  return groups;
}

/** `BLACKSTART_CPU_PROF_DIR`: the API and the worker write V8 CPU profiles there when they exit (a benchmark's profile of the control plane). */
function cpuProfileFlags(name: string): string[] {
  const dir = process.env.BLACKSTART_CPU_PROF_DIR;
  return dir && (name === 'api' || name === 'worker') ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * How long a host's nodes may take to answer: they boot side by side (storage-node/main.ts), but
 * each scans its copies first and they share the cores, so a process of many nodes on a busy
 * machine takes longer.
 */
function bootWaitMs(nodesInProcess: number): number {
  return 120_000 + 30_000 * (nodesInProcess - 1);
}
