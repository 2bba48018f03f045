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
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const sample = { CLUSTER_SECRET: 'a-cluster-secret-of-some-length', OPERATOR_TOKEN: 'an-operator-token-of-some-length', JOIN_TOKEN: 'join' };
const interpolate = (env: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{(\w+)[^}]*\}/g, (_, name: string) => sample[name as keyof typeof sample] ?? '')]));

describe('docker-compose.yml', () => {
  const services = compose.services;

  it('depends only on services it defines, and publishes no port twice', () => {
    const ports: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(services, `${name} depends on ${d}`).toHaveProperty(d);
      ports.push(...(s.ports ?? []).map((p) => p.split(':')[0]!));
    }
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('starts our processes from files the build produces', () => {
    for (const s of Object.values(services).filter((s) => s.build)) {
      expect(s.command?.[0]).toBe('node');
      expect(existsSync(s.command![1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts')), s.command![1]).toBe(true);
    }
  });

  it("gives each Blackstart service an environment its configuration loader accepts", () => {
    expect(() => loadApiConfig(interpolate(services.api!.environment))).not.toThrow();
    expect(() => loadWorkerConfig(interpolate(services.worker!.environment))).not.toThrow();
    const nodes = Object.entries(services).filter(([, s]) => s.command?.[1] === 'dist/storage-node/main.js');
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    for (const [, s] of nodes) expect(() => loadNodeConfig(interpolate(s.environment))).not.toThrow();
  });
});
