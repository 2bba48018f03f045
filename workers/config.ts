// The worker's configuration, validated at start-up.
import { Env } from '../common/config.js';

export function loadWorkerConfig(vars: NodeJS.ProcessEnv = process.env) {
  const env = new Env(vars);
  const config = {
    temporalAddress: env.string('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    namespace: env.string('TEMPORAL_NAMESPACE', 'default'),
    databaseUrl: env.string('DATABASE_URL'),
    clusterSecret: env.string('CLUSTER_SECRET'),
    peerWaitMs: env.int('PEER_WAIT_MS', 5 * 60_000, 0),
    dataConcurrency: env.int('DATA_CONCURRENCY', 4, 1, 1000),
    reviewDeadlineMs: env.int('REVIEW_DEADLINE_MS', 7 * 24 * 3600_000, 0),
    snapshotStore: env.string('SNAPSHOT_STORE'),
  };
  env.check();
  return config;
}
