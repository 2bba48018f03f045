// Prometheus scrapes a running cluster (the API, the worker, every storage node) and PromQL sees
// what a hold looks like: when both copies' power domains fail and a write is issued while the
// restored volume awaits its owner, held requests rise on the winner's node; after enable-io
// they fall back to zero. The worker exports the Temporal SDK's own metrics beside ours.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../cluster/processes.js';
import { powerOffBothCopies, restoreAndAwaitReview } from '../support/outage.js';
import { startPrometheus, type Prometheus } from '../support/prometheus.js';
import { eventually, pattern, startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('metrics scraped by prometheus', () => {
  let t: TestCluster;
  let prom: Prometheus;
  let dir = '';
  let workerPort = 0;

  beforeAll(async () => {
    workerPort = await freePort();
    t = await startTestCluster('metrics', { env: { WORKER_METRICS_PORT: String(workerPort) } });
    dir = await mkdtemp(join(tmpdir(), 'blackstart-prometheus-'));
    prom = await startPrometheus(t, workerPort, dir);
  });
  afterAll(async () => {
    await prom?.stop();
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const value = (q: string) => prom.query(q);

  it('when every process is scraped, then our metrics and the Temporal SDK metrics are there', async () => {
    await eventually('every target up', async () => (await value('count(up == 1)')) === 2 + t.cluster.opts.nodes.length, 30_000);
    await eventually(
      'the SDK metrics from the worker',
      async () => ((await value('count({job="worker", __name__=~"temporal_.+"})')) ?? 0) > 0,
      30_000,
    );
    expect(await value('sum(blackstart_nodes{state="in-service"})')).toBe(t.cluster.opts.nodes.length);
    expect(await value('count(blackstart_http_request_duration_seconds_bucket{job="api"})')).toBeGreaterThan(0);
  });

  it('when a write waits on a held volume, then held requests rise, and fall after enable-io', async () => {
    const volumeId = (await t.customer.createVolume(1024 * 1024)).volumeId;
    await t.customer.write(volumeId, 0, pattern('before', 8192));
    const killed = await powerOffBothCopies(t, volumeId);
    await eventually(
      'the down nodes seen by prometheus',
      async () => ((await value('count(up{job="storage-nodes"} == 0)')) ?? 0) >= killed.length,
      30_000,
    );
    const { winner } = await restoreAndAwaitReview(t, volumeId, killed);

    const held = t.customer.write(volumeId, 0, pattern('held', 4096));
    const promql = `sum(blackstart_node_held_requests{node="${winner}"})`;
    await eventually('held requests seen by PromQL', async () => ((await value(promql)) ?? 0) >= 1, 30_000);
    await saveScrape(t, winner, workerPort);
    // the API reads recoveries from Temporal visibility at scrape time: the next scrape sees this one
    await eventually(
      'the volume recovery in its configuration phase seen by PromQL',
      async () => ((await value('sum(blackstart_recoveries{workflow="volumeRecovery", phase="configuration"})')) ?? 0) >= 1,
      30_000,
    );

    await t.customer.enableIo(volumeId);
    expect((await held).writeSeq).toBeGreaterThan(0);
    await eventually('held requests back to zero', async () => (await value(promql)) === 0, 30_000);
    expect(await value(`max_over_time(${promql}[5m:1s])`)).toBeGreaterThanOrEqual(1);
  });
});

/** An example of what each process exports during a recovery, kept for people under test-results/. */
async function saveScrape(t: TestCluster, winner: string, workerPort: number): Promise<void> {
  const out = join('test-results', 'metrics');
  await mkdir(out, { recursive: true });
  const pick = (text: string) =>
    text
      .split('\n')
      .filter(
        (l) =>
          !/blackstart_(nodejs|process)_/.test(l) &&
          /^(# (HELP|TYPE) )?(blackstart_(node|recover|replica|nodes|admission|mass|failover|webhook|server|activit)|temporal_(workflow|activity)_)/.test(
            l,
          ),
      )
      .join('\n');
  const sources = {
    api: `${t.cluster.apiUrl}/metrics`,
    worker: `http://127.0.0.1:${workerPort}/metrics`,
    [winner]: `${t.cluster.nodeUrl(winner)}/metrics`,
  };
  for (const [name, url] of Object.entries(sources)) {
    await writeFile(join(out, `during-recovery-${name}.txt`), pick(await (await fetch(url)).text()));
  }
}
