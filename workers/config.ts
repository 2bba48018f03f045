// The worker's configuration, validated at start-up.
import { Env } from '../common/config.js';
import { temporalTlsFromEnv } from '../common/temporal-tls.js';

export function loadWorkerConfig(vars: NodeJS.ProcessEnv = process.env) {
  const env = new Env(vars);
  const tlsProblems: string[] = [];
  const config = {
    temporalAddress: env.string('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    namespace: env.string('TEMPORAL_NAMESPACE', 'default'),
    temporalTls: temporalTlsFromEnv(env, tlsProblems),
    databaseUrl: env.string('DATABASE_URL'),
    clusterSecret: env.string('CLUSTER_SECRET'),
    peerWaitMs: env.int('PEER_WAIT_MS', 5 * 60_000, 0),
    dataConcurrency: env.int('DATA_CONCURRENCY', 4, 1, 1000),
    snapshotConcurrency: env.int('SNAPSHOT_CONCURRENCY', 2, 1, 1000),
    /** Open workflows kept in the worker's sticky cache; unset: the SDK's default from the heap size (about 2,300 on a 4 GiB heap). */
    workflowCacheSize: env.optional('WORKFLOW_CACHE_SIZE') === undefined ? undefined : env.int('WORKFLOW_CACHE_SIZE', 0, 1, 1_000_000),
    reviewDeadlineMs: env.int('REVIEW_DEADLINE_MS', 7 * 24 * 3600_000, 0),
    snapshotStore: env.string('SNAPSHOT_STORE'),
    rebuildRangeBytes: env.int('REBUILD_RANGE_BYTES', 4 * 1024 * 1024, 4096, 4 * 1024 * 1024),
    /** /metrics (ours and the Temporal SDK's); 0: any free port, printed at start. */
    metricsPort: env.int('WORKER_METRICS_PORT', 0, 0, 65535),
    metricsBind: env.string('WORKER_METRICS_BIND', '127.0.0.1'),
  };
  env.check((problems) => {
    problems.push(...tlsProblems);
    if (config.rebuildRangeBytes % 4096 !== 0) problems.push('REBUILD_RANGE_BYTES must be a multiple of 4096');
  });
  return config;
}
