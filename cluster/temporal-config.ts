// What the Temporal server on Postgres is run with, as pure functions: its config file, its
// command line and its schema tool's commands. cluster/temporal-postgres.ts runs them locally;
// docker-compose.yml runs the same (deploy/temporal-server.yaml is composeTemporalConfig()'s
// output), and test/unit/docker-compose.test.ts checks the two never drift apart.
import { SEARCH_ATTRIBUTES } from '../common/messages.js';

/**
 * History shards: the unit of Temporal's history partitioning, fixed for the life of a cluster.
 * One host here, so few: each shard is a set of timers and queues polled on its own; 4 keeps
 * that overhead small on 2 cores while letting history work run side by side. A production
 * cluster picks it for its largest size (e.g. 512+) and can never change it without a new cluster.
 */
export const NUM_HISTORY_SHARDS = 4;

/** How long the `default` namespace keeps a closed workflow's history. */
export const NAMESPACE_RETENTION_DAYS = 3;

export interface TemporalDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The two databases: workflow state, and visibility (list and search). */
  main: string;
  visibility: string;
}

type Service = 'frontend' | 'history' | 'matching' | 'worker';
export const TEMPORAL_SERVICES: Service[] = ['frontend', 'history', 'matching', 'worker'];

export interface TemporalServerSetup {
  db: TemporalDatabase;
  /** Each service's gRPC and membership port; the frontend's HTTP port. */
  grpcPorts: Record<Service, number>;
  membershipPorts: Record<Service, number>;
  frontendHttpPort: number;
  bindOnIP: string;
  broadcastAddress: string;
  /** Mutual TLS on the frontend and between the services (docker-compose.yml); none locally. */
  tls?: { cert: string; key: string; ca: string; serverName: string };
}

/** The server's command line, after the binary (`temporal-server`). */
export function temporalServerArgs(configFile: string): string[] {
  return ['--config-file', configFile, '--allow-no-auth', 'start'];
}

/** temporal-sql-tool's connection arguments for one database. */
function sqlToolConnection(db: TemporalDatabase, name: string): string[] {
  return [
    '--plugin',
    'postgres12',
    '--ep',
    db.host,
    '-p',
    String(db.port),
    '-u',
    db.user,
    ...(db.password ? ['--pw', db.password] : []),
    '--db',
    name,
  ];
}

/**
 * The schema tool's runs, in order, after the binary (`temporal-sql-tool`): per database,
 * create it (`optional`: it may exist), set up the version table, apply every missing version.
 */
export function schemaCommands(db: TemporalDatabase, schemaDir: string): { args: string[]; optional: boolean }[] {
  return (
    [
      [db.main, 'temporal'],
      [db.visibility, 'visibility'],
    ] as const
  ).flatMap(([name, schema]) => [
    { args: [...sqlToolConnection(db, name), 'create-database'], optional: true },
    { args: [...sqlToolConnection(db, name), 'setup-schema', '-v', '0.0'], optional: false },
    { args: [...sqlToolConnection(db, name), 'update-schema', '-d', `${schemaDir}/postgresql/v12/${schema}/versioned`], optional: false },
  ]);
}

/** The schema job as one shell command (docker-compose.yml's `temporal-schema`). */
export function schemaScript(db: TemporalDatabase, schemaDir: string): string {
  const lines = schemaCommands(db, schemaDir).map(
    ({ args, optional }) => `temporal-sql-tool ${args.join(' ')}${optional ? ' || true' : ''}`,
  );
  return ['set -e', ...lines].join('\n');
}

/**
 * The namespace and our search attributes, with the Temporal CLI (docker-compose.yml's
 * `temporal-admin`); locally registerNamespace in temporal-postgres.ts does the same over gRPC.
 */
export function registrationScript(): string {
  const attributes = Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--name', name, '--type', type]);
  return [
    'until temporal operator cluster health; do sleep 2; done',
    `temporal operator namespace create --namespace default --retention ${NAMESPACE_RETENTION_DAYS * 24}h || true`,
    `temporal operator search-attribute create --namespace default ${attributes.join(' ')} || true`,
  ].join('\n');
}

export function temporalServerConfig(s: TemporalServerSetup): string {
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${s.db.host}:${s.db.port}"
        connectProtocol: tcp
        user: "${s.db.user}"
        password: "${s.db.password}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const rpc = (service: Service) => `
    rpc:
      grpcPort: ${s.grpcPorts[service]}
      membershipPort: ${s.membershipPorts[service]}
      bindOnIP: ${s.bindOnIP}${service === 'frontend' ? `\n      httpPort: ${s.frontendHttpPort}` : ''}`;
  return `# Written by cluster/temporal-config.ts.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  # See NUM_HISTORY_SHARDS in cluster/temporal-config.ts: fixed for the life of the cluster.
  numHistoryShards: ${NUM_HISTORY_SHARDS}
  datastores:
    postgres-default:${store(s.db.main, 20)}
    postgres-visibility:${store(s.db.visibility, 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: ${s.broadcastAddress}${s.tls ? tlsBlock(s.tls) : ''}
services:${TEMPORAL_SERVICES.map((service) => `\n  ${service}:${rpc(service)}`).join('')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: ${s.broadcastAddress}:${s.grpcPorts.frontend}
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled
`;
}

/** Mutual TLS: every service presents the server certificate and requires a client one signed by the CA. */
function tlsBlock(tls: NonNullable<TemporalServerSetup['tls']>): string {
  const group = `
      server:
        certFile: ${tls.cert}
        keyFile: ${tls.key}
        requireClientAuth: true
        clientCaFiles: [${tls.ca}]
      client:
        serverName: ${tls.serverName}
        rootCaFiles: [${tls.ca}]`;
  return `
  tls:
    internode:${group}
    frontend:${group}
    systemWorker:
      certFile: ${tls.cert}
      keyFile: ${tls.key}
      client:
        serverName: ${tls.serverName}
        rootCaFiles: [${tls.ca}]`;
}

/** docker-compose.yml's Temporal: the `postgres` service, Temporal's usual ports, mutual TLS with ./certs. */
export const COMPOSE_TEMPORAL: TemporalServerSetup = {
  db: { host: 'postgres', port: 5432, user: 'blackstart', password: 'blackstart', main: 'temporal', visibility: 'temporal_visibility' },
  grpcPorts: { frontend: 7233, history: 7234, matching: 7235, worker: 7239 },
  membershipPorts: { frontend: 6933, history: 6934, matching: 6935, worker: 6939 },
  frontendHttpPort: 7243,
  bindOnIP: '0.0.0.0',
  broadcastAddress: '127.0.0.1',
  tls: { cert: '/certs/temporal.pem', key: '/certs/temporal.key', ca: '/certs/ca.pem', serverName: 'temporal' },
};
