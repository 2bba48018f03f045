// The fixed chaos subsets `npm test` runs: one runChaos call on the test database's Postgres,
// keeping the run's directory when KEEP_TEST_DIRS is set.
import { runChaos, type ChaosOptions, type ChaosReport } from '../../chaos/campaign.js';
import { adminDatabaseUrl } from './test-cluster.js';

export function runChaosSubset(opts: Pick<ChaosOptions, 'seed' | 'indices' | 'networkHosts' | 'compound'>): Promise<ChaosReport> {
  return runChaos({ ...opts, adminDatabaseUrl: adminDatabaseUrl(), keepDir: Boolean(process.env.KEEP_TEST_DIRS) });
}
