// docker-compose.yml is for users with a Docker engine (none runs here), so it is validated,
// not run: references resolve, and each Blackstart service's environment passes the very
// configuration loaders its process runs at start-up.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadApiConfig } from '../../api/config.js';
import { loadNodeConfig } from '../../storage-node/config.js';
import { loadWorkerConfig } from '../../workers/config.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  depends_on?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
  ports?: string[];
  networks?: string[];
  volumes?: string[];
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
    const nodes = Object.entries(services).filter(([, s]) => s.command?.[1] === 'dist/storage-node/main.js');
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

  it('requires mutual TLS on the Temporal frontend, and every client presents a certificate', () => {
    const server = services.temporal!.environment!;
    expect(server.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
    for (const v of [
      'TEMPORAL_TLS_SERVER_CERT',
      'TEMPORAL_TLS_SERVER_KEY',
      'TEMPORAL_TLS_FRONTEND_CERT',
      'TEMPORAL_TLS_FRONTEND_KEY',
      'TEMPORAL_TLS_CLIENT1_CA_CERT',
    ]) {
      expect(server[v], v).toMatch(/^\/certs\//);
    }
    for (const [name, s] of Object.entries(services).filter(
      ([n, s]) => n !== 'temporal' && (isTemporal(s) || ['api', 'worker'].includes(n)),
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
});
