// The control plane's configuration, validated at start-up.
import { parseApiUrls } from '../common/api-endpoints.js';
import { Env } from '../common/config.js';
import { temporalTlsFromEnv, type TemporalTls } from '../common/temporal-tls.js';
import { MAX_IO_BYTES } from '../storage-node/protocol/block-range.js';

export interface ApiConfig {
  port: number;
  bind: string;
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  /** mTLS to Temporal (TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME); undefined: plaintext. */
  temporalTls: TemporalTls | undefined;
  clusterSecret: string;
  operatorToken: string;
  heartbeatTimeoutMs: number;
  monitorIntervalMs: number;
  maxConcurrentRecoveries: number;
  massOutageShare: number;
  retryAfterSeconds: number;
  /** The largest recovery report admitted: it travels in a workflow signal, under Temporal's payload limit. */
  maxReportBytes: number;
  /** How often a server recovery waiting in configuration re-reads the inventory (a lost or misdirected word never strands it). */
  reconcileMs: number;
  maxVolumeBytes: number;
  reviewGrantTtlMs: number;
  snapshotStore: string;
  /** The shortest snapshot-policy interval a customer may set. */
  minSnapshotIntervalSeconds: number;
  /** Each customer's quota unless an operator set its own. */
  quotaDefaults: { maxVolumes: number; maxBytes: number; maxSnapshots: number };
  /** Manual and review snapshots a volume may keep (pending or completed); policies prune their own. */
  maxManualSnapshotsPerVolume: number;
  /** Fleet health: a server recovery open longer than this is stuck (`?stuckAfterSeconds=` overrides it per request). */
  healthStuckRecoveryMs: number;
  webhooks: WebhookConfig;
  io: IoCaps;
  /**
   * CONSOLE_API_URLS: every API's base URL as browsers reach it. The console moves between them,
   * and this API answers cross-origin requests from their origins. Empty: same origin only.
   */
  consoleApiUrls: string[];
}

/** What one customer may have in flight on the API at once (held I/O included). */
export interface IoCaps {
  perVolumeRequests: number;
  perVolumeBytes: number;
  perCustomerRequests: number;
  perCustomerBytes: number;
  /** Requests of any kind, I/O or not. */
  perCustomerConcurrentRequests: number;
}

export interface WebhookConfig {
  pollMs: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryCapMs: number;
  maxAttempts: number;
  concurrency: number;
  /** Hosts (by the name in the URL) a webhook may reach although they resolve to internal addresses. */
  allowHosts: ReadonlySet<string>;
}

export function loadApiConfig(vars: NodeJS.ProcessEnv = process.env): ApiConfig {
  const env = new Env(vars);
  const tlsProblems: string[] = [];
  const urlProblems: string[] = [];
  const config: ApiConfig = {
    port: env.int('API_PORT', 8080, 0, 65535),
    bind: env.string('API_BIND', '127.0.0.1'),
    databaseUrl: env.string('DATABASE_URL'),
    temporalAddress: env.string('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    namespace: env.string('TEMPORAL_NAMESPACE', 'default'),
    temporalTls: temporalTlsFromEnv(env, tlsProblems),
    clusterSecret: env.string('CLUSTER_SECRET'),
    operatorToken: env.string('OPERATOR_TOKEN'),
    heartbeatTimeoutMs: env.int('HEARTBEAT_TIMEOUT_MS', 5000, 100),
    monitorIntervalMs: env.int('MONITOR_INTERVAL_MS', 1000, 20),
    maxConcurrentRecoveries: env.int('MAX_CONCURRENT_RECOVERIES', 50, 1),
    massOutageShare: env.number('MASS_OUTAGE_SHARE', 1 / 3, 0, 1),
    retryAfterSeconds: env.int('RETRY_AFTER_SECONDS', 2, 1, 3600),
    // The report is stored in the inventory, not carried by a signal: bounded by the nodes route's 8 MiB body limit.
    maxReportBytes: env.int('MAX_REPORT_BYTES', 4 * 1024 * 1024, 1024, 8 * 1024 * 1024),
    reconcileMs: env.int('RECONCILE_MS', 30_000, 100, 3_600_000),
    maxVolumeBytes: env.int('MAX_VOLUME_BYTES', 64 * 1024 ** 3, 4096),
    reviewGrantTtlMs: env.int('REVIEW_GRANT_TTL_MS', 15 * 60_000, 1000),
    snapshotStore: env.string('SNAPSHOT_STORE'),
    minSnapshotIntervalSeconds: env.int('MIN_SNAPSHOT_INTERVAL_SECONDS', 300, 1),
    quotaDefaults: {
      maxVolumes: env.int('QUOTA_MAX_VOLUMES', 100, 0),
      maxBytes: env.int('QUOTA_MAX_BYTES', 1024 ** 4, 0),
      maxSnapshots: env.int('QUOTA_MAX_SNAPSHOTS', 1000, 0),
    },
    maxManualSnapshotsPerVolume: env.int('MAX_MANUAL_SNAPSHOTS_PER_VOLUME', 50, 1),
    healthStuckRecoveryMs: env.int('HEALTH_STUCK_RECOVERY_MS', 10 * 60_000, 1000, 30 * 86_400_000),
    io: {
      perVolumeRequests: env.int('IO_MAX_INFLIGHT_PER_VOLUME', 64, 1),
      perVolumeBytes: env.int('IO_MAX_INFLIGHT_BYTES_PER_VOLUME', 64 * 1024 * 1024, MAX_IO_BYTES),
      perCustomerRequests: env.int('IO_MAX_INFLIGHT_PER_CUSTOMER', 256, 1),
      perCustomerBytes: env.int('IO_MAX_INFLIGHT_BYTES_PER_CUSTOMER', 256 * 1024 * 1024, MAX_IO_BYTES),
      perCustomerConcurrentRequests: env.int('API_MAX_CONCURRENT_REQUESTS_PER_CUSTOMER', 512, 1),
    },
    webhooks: {
      pollMs: env.int('WEBHOOK_POLL_MS', 1000, 10),
      timeoutMs: env.int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
      retryBaseMs: env.int('WEBHOOK_RETRY_BASE_MS', 1000, 10),
      retryCapMs: env.int('WEBHOOK_RETRY_CAP_MS', 10 * 60_000, 10),
      maxAttempts: env.int('WEBHOOK_MAX_ATTEMPTS', 12, 1, 1000),
      concurrency: env.int('WEBHOOK_CONCURRENCY', 8, 1, 1000),
      allowHosts: hostList(env.optional('WEBHOOK_ALLOW_HOSTS')),
    },
    consoleApiUrls: apiUrlList('CONSOLE_API_URLS', env.optional('CONSOLE_API_URLS'), urlProblems),
  };
  env.check((problems) => {
    problems.push(...tlsProblems, ...urlProblems);
    if (config.clusterSecret && config.clusterSecret.length < 16) problems.push('CLUSTER_SECRET must be at least 16 characters');
    if (config.operatorToken && config.operatorToken.length < 16) problems.push('OPERATOR_TOKEN must be at least 16 characters');
    if (config.webhooks.retryCapMs < config.webhooks.retryBaseMs)
      problems.push('WEBHOOK_RETRY_CAP_MS must be at least WEBHOOK_RETRY_BASE_MS');
  });
  return config;
}

/** A comma list of API base URLs (common/api-endpoints.ts's rules), or none when unset. */
function apiUrlList(name: string, text: string | undefined, problems: string[]): string[] {
  if (text === undefined) return [];
  try {
    return parseApiUrls(text);
  } catch (err) {
    problems.push(`${name}: ${(err as Error).message}`);
    return [];
  }
}

/** "a.internal, 10.0.0.5, [fd00::1]" → the set of host names as URLs spell them (lower case, no brackets). */
function hostList(text: string | undefined): ReadonlySet<string> {
  return new Set(
    (text ?? '')
      .split(',')
      .map((h) =>
        h
          .trim()
          .toLowerCase()
          .replace(/^\[(.*)\]$/, '$1'),
      )
      .filter(Boolean),
  );
}
