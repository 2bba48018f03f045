// docker-compose.yml is for users with a Docker engine (none runs here), so it is validated,
// not run: references resolve; each Blackstart service's environment passes the very
// configuration loaders its process runs at start-up, and holds no variable they do not read;
// and every other service runs what the tests run — the versions scripts/ensure-*.sh build, the
// Temporal server's config file, command line and schema commands (cluster/temporal-config.ts),
// versitygw's command line and client variables (cluster/s3-server.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadApiConfig } from '../../api/config.js';
import { s3ClientEnv, versitygwArgs } from '../../cluster/s3-server.js';
import {
  COMPOSE_TEMPORAL,
  registrationScript,
  schemaScript,
  temporalServerArgs,
  temporalServerConfig,
} from '../../cluster/temporal-config.js';
import { parseS3Url, s3ClientFromEnv } from '../../snapshot-store/s3.js';
import { loadNodeConfig } from '../../storage-node/config.js';
import { loadPeerTls } from '../../storage-node/transport/peer-tls.js';
import { loadNbdTls } from '../../storage-node/transport/nbd-tls.js';
import { loadWorkerConfig } from '../../workers/config.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  depends_on?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
  ports?: string[];
  networks?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, { internal?: boolean } | null>;
};
const sample = {
  CLUSTER_SECRET: 'a-cluster-secret-of-some-length',
  OPERATOR_TOKEN: 'an-operator-token-of-some-length',
  JOIN_TOKEN: 'join',
  S3_ACCESS_KEY: 'an-access-key',
  S3_SECRET_KEY: 'a-secret-key',
};
const interpolate = (env: Record<string, string> = {}) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v).replace(/\$\{(\w+)[^}]*\}/g, (_, name: string) => sample[name as keyof typeof sample] ?? ''),
    ]),
  );

/** "127.0.0.1:8233:8080" → "127.0.0.1:8233"; "8080:8080" → "8080" (every interface). */
const hostPort = (p: string) => p.split(':').slice(0, -1).join(':');
const isTemporal = (s: Service) => (s.image ?? '').startsWith('temporalio/');
/** `NAME=value` in a shell script: the versions the ensure scripts build. */
const scriptVar = (script: string, name: string) =>
  readFileSync(`scripts/${script}`, 'utf8').match(new RegExp(`^${name}=(\\S+)$`, 'm'))![1]!;
const nodeServices = () => Object.entries(compose.services).filter(([, s]) => s.command?.[1] === 'dist/storage-node/main.js');
/** The variable names `read` looks up while it runs on `env`. */
function namesRead(env: Record<string, string>, ...readers: ((vars: NodeJS.ProcessEnv) => unknown)[]): Set<string> {
  const names = new Set<string>();
  const recording = new Proxy(env, { get: (target, name) => (typeof name === 'string' && names.add(name), target[name as string]) });
  for (const read of readers) read(recording);
  return names;
}
const completed = (s: Service, dep: string) => (s.depends_on as Record<string, { condition?: string }>)[dep]?.condition;
const depsOf = (s: Service) => (Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {}));
/** Whether `s` starts after `target`, directly or through what it depends on. */
const startsAfter = (s: Service, target: string): boolean =>
  depsOf(s).some((d) => d === target || startsAfter(compose.services[d]!, target));

describe('docker-compose.yml', () => {
  const services = compose.services;

  it('depends only on services it defines, and publishes no port twice', () => {
    const ports: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(services, `${name} depends on ${d}`).toHaveProperty(d);
      ports.push(...(s.ports ?? []).map(hostPort));
    }
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('starts our processes from files the build produces', () => {
    for (const s of Object.values(services).filter((s) => s.build)) {
      expect(s.command?.[0]).toBe('node');
      expect(existsSync(s.command![1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts')), s.command![1]).toBe(true);
    }
  });

  it('gives each Blackstart service an environment its configuration loader accepts', () => {
    expect(() => loadApiConfig(interpolate(services.api!.environment))).not.toThrow();
    expect(() => loadWorkerConfig(interpolate(services.worker!.environment))).not.toThrow();
    const nodes = nodeServices();
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    for (const [, s] of nodes) expect(() => loadNodeConfig(interpolate(s.environment))).not.toThrow();
  });

  it('publishes no Temporal port beyond the host loopback, and keeps the frontend on the internal network only', () => {
    for (const [name, s] of Object.entries(services).filter(([, s]) => isTemporal(s))) {
      for (const p of s.ports ?? []) expect(p, `${name} publishes ${p}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? [])
        expect(p.split(':').at(-1), `${name} publishes a Temporal port`).not.toMatch(/^(7233|7234|7235|7239|6933|6934|6935|6939)$/);
    }
    expect(services.temporal!.ports ?? []).toEqual([]);
    expect(services.temporal!.networks).toEqual(['internal']);
    expect(compose.networks.internal?.internal).toBe(true);
    expect(services.postgres!.networks).toEqual(['internal']);
  });

  it('requires mutual TLS on the Temporal frontend and between its services, and every client presents a certificate', () => {
    const tls = (
      parse(readFileSync('deploy/temporal-server.yaml', 'utf8')) as {
        global: { tls: Record<string, Record<string, Record<string, unknown>>> };
      }
    ).global.tls;
    for (const group of ['frontend', 'internode']) {
      expect(tls[group]!.server, group).toMatchObject({ requireClientAuth: true, clientCaFiles: ['/certs/ca.pem'] });
      expect(tls[group]!.server!.certFile, group).toMatch(/^\/certs\//);
      expect(tls[group]!.client, group).toMatchObject({ serverName: 'temporal', rootCaFiles: ['/certs/ca.pem'] });
    }
    expect(services.temporal!.volumes).toContain('./certs:/certs:ro');
    for (const [name, s] of Object.entries(services).filter(
      ([n, s]) => !['temporal', 'temporal-schema'].includes(n) && (isTemporal(s) || ['api', 'worker'].includes(n)),
    )) {
      for (const v of ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA'])
        expect(s.environment?.[v], `${name} ${v}`).toMatch(/^\/certs\//);
      expect(s.volumes, name).toContain('./certs:/certs:ro');
    }
    expect(loadApiConfig(interpolate(services.api!.environment)).temporalTls).toEqual({
      cert: '/certs/client.pem',
      key: '/certs/client.key',
      ca: '/certs/ca.pem',
      serverName: 'temporal',
    });
    expect(loadWorkerConfig(interpolate(services.worker!.environment)).temporalTls?.cert).toBe('/certs/client.pem');
  });

  it('runs two API processes and two workers, and every node knows every API', () => {
    const apis = Object.entries(services).filter(([, s]) => s.command?.[1] === 'dist/api/main.js');
    expect(apis.length).toBeGreaterThanOrEqual(2);
    expect(services.worker!.deploy?.replicas).toBeGreaterThanOrEqual(2);
    const apiUrls = apis.map(([name, s]) => `http://${name}:${s.environment!.API_PORT}`).sort();
    for (const [name, s] of nodeServices())
      expect(loadNodeConfig(interpolate(s.environment)).controlPlaneUrl.split(',').sort(), name).toEqual(apiUrls);
  });

  it("listens beyond the container's loopback where another container or a customer must reach it", () => {
    expect(services.api!.environment?.API_BIND).toBe('0.0.0.0');
    const nodes = Object.values(services).filter((s) => s.command?.[1] === 'dist/storage-node/main.js');
    for (const s of nodes) expect(s.environment?.NODE_BIND).toBe('0.0.0.0');
  });

  it("publishes each node's NBD port and advertises the published address", () => {
    const nodes = Object.values(services).filter((s) => s.command?.[1] === 'dist/storage-node/main.js');
    for (const s of nodes) {
      const config = loadNodeConfig(interpolate(s.environment));
      const published = (s.ports ?? []).find((p) => p.endsWith(`:${config.nbdPort}`));
      expect(published, `${config.nodeId} publishes its NBD port`).toBeDefined();
      expect(config.nbdAdvertise?.endsWith(`:${hostPort(published!).split(':').at(-1)}`)).toBe(true);
      expect(s.networks).toContain('edge');
    }
  });

  it("requires NBD over TLS and mutual TLS between peers on every node, with its own certificate that the header's node-certs.sh command issues", () => {
    const command = /bash scripts\/node-certs\.sh \.\/certs ((?:node-\d+ ?)+)/.exec(readFileSync('docker-compose.yml', 'utf8'));
    expect(command, 'the header says how to make the node certificates').not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'compose-certs-'));
    try {
      execFileSync('bash', ['scripts/node-certs.sh', dir, ...command![1]!.trim().split(' ')], { stdio: 'ignore' });
      const inDir = (path: string | undefined) => path?.replace(/^\/certs\//, `${dir}/`);
      for (const [name, s] of nodeServices()) {
        const config = loadNodeConfig(interpolate(s.environment));
        expect(config.nbdTls, name).toBe('require');
        expect(s.volumes, name).toContain('./certs:/certs:ro');
        const files = { cert: inDir(config.nbdTlsFiles.cert), key: inDir(config.nbdTlsFiles.key), ca: inDir(config.nbdTlsFiles.ca) };
        expect(files.ca, name).toBe(`${dir}/ca.pem`);
        expect(() => loadNbdTls(config.nbdTls, files, config.nodeId), name).not.toThrow();
        expect(config.peerTls, name).toBe('require');
        expect(config.peerAdvertiseUrl, name).toBe(`https://${name}:${config.peerPort}`);
        expect(() => loadPeerTls(config.peerTls, files, config.nodeId)?.agent.destroy(), name).not.toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the versions the ensure scripts build and the tests run', () => {
    const server = scriptVar('ensure-temporal-server.sh', 'VERSION').replace(/^v/, '');
    expect(services.temporal!.image).toBe(`temporalio/server:${server}`);
    expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-admin']!.image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-ui']!.image).toBe(`temporalio/ui:${scriptVar('ensure-temporal-server.sh', 'UI_VERSION').replace(/^v/, '')}`);
    expect(services.s3!.image).toBe(`versity/versitygw:${scriptVar('ensure-versitygw.sh', 'VERSION')}`);
  });

  it('runs the Temporal server with the config file and command line the tests run it with', () => {
    const mount = services.temporal!.volumes!.find((v) => v.startsWith('./deploy/temporal-server.yaml:'))!;
    const configFile = mount.split(':')[1]!;
    expect(services.temporal!.entrypoint).toEqual(['temporal-server', ...temporalServerArgs(configFile)]);
    expect(
      readFileSync('deploy/temporal-server.yaml', 'utf8'),
      'regenerate: node -e "import(\'./dist/cluster/temporal-config.js\').then((m) => process.stdout.write(m.temporalServerConfig(m.COMPOSE_TEMPORAL)))" > deploy/temporal-server.yaml',
    ).toBe(temporalServerConfig(COMPOSE_TEMPORAL));
    const { db } = COMPOSE_TEMPORAL;
    expect(services).toHaveProperty(db.host);
    expect(services[db.host]!.environment).toMatchObject({ POSTGRES_USER: db.user, POSTGRES_PASSWORD: db.password });
    const frontend = `temporal:${COMPOSE_TEMPORAL.grpcPorts.frontend}`;
    for (const name of ['api', 'worker', 'temporal-admin', 'temporal-ui'])
      expect(services[name]!.environment?.TEMPORAL_ADDRESS, name).toBe(frontend);
  });

  it('sets the schemas up with the commands the tests run, before the server starts', () => {
    expect(services['temporal-schema']!.entrypoint).toEqual(['sh', '-c', schemaScript(COMPOSE_TEMPORAL.db, '/etc/temporal/schema')]);
    expect(completed(services.temporal!, 'temporal-schema')).toBe('service_completed_successfully');
  });

  it('registers the namespace and the search attributes the workflows use before the API starts', () => {
    expect(services['temporal-admin']!.entrypoint).toEqual(['sh', '-c', registrationScript()]);
    expect(completed(services.api!, 'temporal-admin')).toBe('service_completed_successfully');
  });

  it('runs versitygw as the tests run it, and points the API, the worker and every node at its bucket', async () => {
    const [listen, region] = [':7070', 'us-east-1'];
    expect(services.s3!.command).toEqual(
      versitygwArgs({ listen, access: '${S3_ACCESS_KEY}', secret: '${S3_SECRET_KEY}', region, dataDir: '/data' }),
    );
    const expected = s3ClientEnv({ endpoint: `http://s3${listen}`, region, access: sample.S3_ACCESS_KEY, secret: sample.S3_SECRET_KEY });
    const bucket = parseS3Url(interpolate(services.api!.environment).SNAPSHOT_STORE!).bucket;
    expect(services['s3-bucket']!.entrypoint!.join(' ')).toContain(`create-bucket --bucket ${bucket}`);
    for (const [name, s] of [['api', services.api!], ['worker', services.worker!], ...nodeServices()] as [string, Service][]) {
      const env = interpolate(s.environment);
      expect(env, name).toMatchObject(expected);
      expect(parseS3Url(env.SNAPSHOT_STORE!).bucket, name).toBe(bucket);
      const client = s3ClientFromEnv(env);
      expect((await client.config.endpoint!()).hostname, name).toBe('s3');
      expect(await client.config.credentials(), name).toMatchObject({ accessKeyId: sample.S3_ACCESS_KEY });
      client.destroy();
      expect(startsAfter(s, 's3-bucket'), `${name} starts after the bucket exists`).toBe(true);
    }
  });

  it('gives each Blackstart process only variables it reads (its configuration loader, the S3 client)', () => {
    const check = (name: string, env: Record<string, string>, load: (vars: NodeJS.ProcessEnv) => unknown) => {
      const read = namesRead(env, load, s3ClientFromEnv);
      expect(
        Object.keys(env).filter((k) => !read.has(k)),
        `${name} sets variables nothing reads`,
      ).toEqual([]);
    };
    check('api', interpolate(services.api!.environment), loadApiConfig);
    check('worker', interpolate(services.worker!.environment), loadWorkerConfig);
    for (const [name, s] of nodeServices()) check(name, interpolate(s.environment), loadNodeConfig);
    const api = loadApiConfig(interpolate(services.api!.environment));
    expect(services.api!.ports).toContain(`${api.port}:${api.port}`);
  });
});
