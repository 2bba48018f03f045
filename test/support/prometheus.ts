// Debian's prometheus, scraping a test cluster: the API, the worker and every storage node, on
// loopback, every second. `query` runs PromQL over its HTTP API and answers the first sample.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, freePort, waitFor } from '../../cluster/processes.js';
import type { TestCluster } from './test-cluster.js';

export interface Prometheus {
  url: string;
  /** The value of the first series the query answers, or null when it answers none. */
  query(promql: string): Promise<number | null>;
  stop(): Promise<void>;
}

const hostPort = (url: string) => new URL(url).host;

export function scrapeConfig(t: TestCluster, workerMetricsPort: number): string {
  const nodes = t.cluster.opts.nodes.map((n) => `'${hostPort(t.cluster.nodeUrl(n.nodeId))}'`).join(', ');
  return [
    'global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }',
    'scrape_configs:',
    `  - { job_name: api, static_configs: [ { targets: ['${hostPort(t.cluster.apiUrl)}'] } ] }`,
    `  - { job_name: worker, static_configs: [ { targets: ['127.0.0.1:${workerMetricsPort}'] } ] }`,
    `  - { job_name: storage-nodes, static_configs: [ { targets: [${nodes}] } ] }`,
    '',
  ].join('\n');
}

export async function startPrometheus(t: TestCluster, workerMetricsPort: number, dir: string): Promise<Prometheus> {
  await mkdir(join(dir, 'tsdb'), { recursive: true });
  await writeFile(join(dir, 'prometheus.yml'), scrapeConfig(t, workerMetricsPort));
  const port = await freePort();
  const proc = new ManagedProcess({
    name: 'prometheus',
    command: 'prometheus',
    args: [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    env: {},
    logDir: dir,
  });
  proc.start();
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus', async () => (await fetch(`${url}/-/ready`)).ok || null, 30_000, 200, proc);
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: { value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
      const first = body.data.result[0];
      return first ? Number(first.value[1]) : null;
    },
    stop: () => proc.stop(),
  };
}
