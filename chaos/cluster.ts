// One real local cluster for a whole chaos run: a fresh Postgres database, short timings, and
// the customer and operator clients the scenarios act through.
import { SHORT_TIMINGS, startScratchCluster, type ScratchCluster } from '../cluster/scratch-cluster.js';
import { defaultTopology } from '../cluster/topology.js';

export const CHAOS_TIMINGS = SHORT_TIMINGS;

export type ChaosCluster = ScratchCluster;

export interface ChaosClusterOptions {
  /** Default: the run's embedded PostgreSQL (cluster/scratch-cluster.ts). */
  adminDatabaseUrl?: string;
  /** Keep the cluster directory (logs, data files, temporal.db) after the run. */
  keepDir: boolean;
  networkHosts: boolean;
  /** The nodes require NBD over TLS (NODE_NBD_TLS=require): the attach processes get the cluster CA. */
  nbdTls?: boolean;
  /** API and worker processes (default 1 each). */
  apis?: number;
  workers?: number;
  progress?: (msg: string) => void;
}

export function startChaosCluster(opts: ChaosClusterOptions): Promise<ChaosCluster> {
  // A long run creates 2–3 volumes a scenario: past the default quota of 100 a customer.
  const { nbdTls, ...rest } = opts;
  const env = { ...CHAOS_TIMINGS, QUOTA_MAX_VOLUMES: '100000' };
  return startScratchCluster({ name: 'chaos', nodes: defaultTopology(6), env, nbdTls: nbdTls ? 'require' : 'off', ...rest });
}
