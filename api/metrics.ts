// The control plane's /metrics: request latency, and on each scrape the inventory's view —
// nodes and copies by state, recoveries open and by phase (Temporal visibility), admission,
// the mass-outage breaker, failovers and webhook deliveries by outcome, and the fleet's health
// (under-replicated volumes, stuck recoveries, the status) from the same counts as /v1/operator/health.
import { logger } from '../common/log.js';
import type { Client } from '@temporalio/client';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RECOVERY_PHASES } from '../common/messages.js';
import { newRegistry } from '../common/metrics.js';
import { fleetHealth, statusRank } from '../common/rules/fleet-health.js';
import { inventoryCounts, type InventoryCounts } from './repositories/metrics.js';
import { readThrottle } from './repositories/settings.js';
import type { Deps } from './use-cases/deps.js';
import { fleetCounts } from './use-cases/health.js';

type Setter = (counts: InventoryCounts, share: number) => void;

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** A counter whose value is kept in the inventory (so it survives restarts and is the same on every API process). */
function storedCounter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function setAll(g: Gauge, label: string, values: Record<string, number>, known: readonly string[]): void {
  for (const key of new Set([...known, ...Object.keys(values)])) g.set({ [label]: key }, values[key] ?? 0);
}

function inventorySetters(registry: Registry): Setter[] {
  const nodes = gauge(registry, 'blackstart_nodes', 'Storage nodes by state', ['state']);
  const replicas = gauge(
    registry,
    'blackstart_replicas',
    'Volume copies by state (rebuilding: rebuilds in flight; candidate/restored: under recovery)',
    ['state'],
  );
  const open = gauge(registry, 'blackstart_server_recoveries_open', 'Server recoveries admitted and not yet back in service');
  const queue = gauge(registry, 'blackstart_admission_queue_length', 'Nodes refused admission recently and retrying');
  const rejections = storedCounter(registry, 'blackstart_admission_rejections_total', 'Recovery reports answered 429');
  const breaker = gauge(
    registry,
    'blackstart_mass_outage_breaker_open',
    '1 while more than massOutageShare of the fleet is unreachable (no failover starts)',
  );
  const unreachable = gauge(registry, 'blackstart_nodes_unreachable', 'Nodes down or silent for half the heartbeat timeout');
  const failovers = storedCounter(registry, 'blackstart_failovers_total', 'Copies failed over (a peer promoted at epoch+1)');
  const deliveries = storedCounter(registry, 'blackstart_webhook_deliveries_total', 'Webhook notifications by outcome', ['outcome']);
  const pending = gauge(registry, 'blackstart_webhook_deliveries_pending', 'Webhook notifications not yet delivered or given up');
  const setCounter = (c: Counter, v: number, labels: Record<string, string> = {}) => {
    c.remove(labels);
    c.inc(labels, v);
  };
  return [
    (c) => setAll(nodes, 'state', c.nodesByState, ['in-service', 'down', 'recovering']),
    (c) => setAll(replicas, 'state', c.replicasByState, ['in-service', 'recovering', 'candidate', 'restored', 'rebuilding']),
    (c) => open.set(c.openRecoveries),
    (c) => queue.set(c.admissionWaiting),
    (c) => setCounter(rejections, c.rejections),
    (c, share) => breaker.set(c.unreachable > share * Object.values(c.nodesByState).reduce((a, b) => a + b, 0) ? 1 : 0),
    (c) => unreachable.set(c.unreachable),
    (c) => setCounter(failovers, c.failovers),
    (c) => {
      setCounter(deliveries, c.deliveries.delivered, { outcome: 'delivered' });
      setCounter(deliveries, c.deliveries.failed, { outcome: 'failed' });
      pending.set(c.deliveries.pending);
    },
  ];
}

/** The fleet's health, as `GET /v1/operator/health` answers it with the configured bound. */
function healthSetter(registry: Registry): (deps: Deps) => Promise<void> {
  const under = gauge(
    registry,
    'blackstart_volumes_underreplicated',
    'Volumes not awaiting their owner with fewer than two in-service copies',
  );
  const stuck = gauge(
    registry,
    'blackstart_recoveries_stuck',
    'Server recoveries open longer than HEALTH_STUCK_RECOVERY_MS and not waiting for an owner',
  );
  const status = gauge(registry, 'blackstart_health_status', 'The fleet health: 0 ok, 1 warn, 2 error (GET /v1/operator/health)');
  return async (deps) => {
    const stuckAfterMs = deps.config.healthStuckRecoveryMs;
    const counts = await fleetCounts(deps, stuckAfterMs);
    under.set(counts['volumes-under-replicated']);
    stuck.set(counts['recoveries-stuck']);
    status.set(statusRank(fleetHealth(counts, { stuckAfterMs }).status));
  };
}

/** Running recoveries by workflow and phase, from the RecoveryPhase search attribute. */
async function countByPhase(temporal: Client, g: Gauge): Promise<void> {
  for (const workflow of ['serverRecovery', 'volumeRecovery']) {
    for (const phase of RECOVERY_PHASES) {
      const query = `WorkflowType="${workflow}" AND ExecutionStatus="Running" AND RecoveryPhase="${phase}"`;
      const { count } = await temporal.workflow.count(query);
      g.set({ workflow, phase }, count);
    }
  }
}

/** One refresh shared by every metric of a scrape (each metric's collect awaits it before it renders). */
function sharedRefresh(run: () => Promise<void>): () => Promise<void> {
  let current: { at: number; done: Promise<void> } | null = null;
  return () => {
    if (!current || performance.now() - current.at > 500) current = { at: performance.now(), done: run() };
    return current.done;
  };
}

export function apiMetrics(deps: Deps): Registry {
  const registry = newRegistry('api');
  const setters = inventorySetters(registry);
  const setHealth = healthSetter(registry);
  const phases = gauge(registry, 'blackstart_recoveries', 'Running recovery workflows by phase', ['workflow', 'phase']);
  const scrapeErrors = storedCounter(registry, 'blackstart_metrics_scrape_errors_total', 'Scrapes whose inventory or Temporal part failed');
  const refresh = sharedRefresh(async () => {
    try {
      const counts = await inventoryCounts(deps.db, deps.config.heartbeatTimeoutMs, 3 * deps.config.retryAfterSeconds * 1000);
      const { massOutageShare } = await readThrottle(deps.db, deps.config);
      for (const set of setters) set(counts, massOutageShare);
      await setHealth(deps);
      await countByPhase(deps.temporal, phases);
    } catch (err) {
      scrapeErrors.inc();
      logger({ component: 'metrics' }).warn({ err }, 'metrics scrape: inventory or Temporal part failed');
    }
  });
  for (const metric of registry.getMetricsAsArray()) {
    if (
      metric.name.startsWith('blackstart_') &&
      !metric.name.startsWith('blackstart_process') &&
      !metric.name.startsWith('blackstart_nodejs')
    ) {
      (metric as unknown as { collect: () => Promise<void> }).collect = refresh;
    }
  }
  return registry;
}
