// The fleet's health at a glance (`GET /v1/operator/health`, `blackstart health`, /metrics): the
// inventory's counts (repositories/fleet-health.ts) judged by the pure rule (common/rules/fleet-health.ts).
import { fleetHealth, type FleetCounts, type FleetHealth } from '../../common/rules/fleet-health.js';
import { holdsFailover, massOutageHold } from '../../common/rules/failover.js';
import { holdDownMs } from '../mass-outage.js';
import {
  countAwaitingOwner,
  countFailingRepairs,
  countUnderReplicated,
  nodeCounts,
  stuckRecoveries,
} from '../repositories/fleet-health.js';
import { readMassOutageHold, readThrottle } from '../repositories/settings.js';
import type { Deps } from './deps.js';

/** Whether the mass-outage breaker holds now, as the heartbeat monitor would find it (read only: nothing is extended). */
async function breakerHolds(deps: Deps, nodes: { down: number; total: number }): Promise<boolean> {
  const suspects = (await nodeCounts(deps.db, deps.config.heartbeatTimeoutMs / 2)).silent;
  const { massOutageShare } = await readThrottle(deps.db, deps.config);
  const tripped = holdsFailover({ suspects, down: nodes.down, total: nodes.total }, massOutageShare);
  return massOutageHold(tripped, await readMassOutageHold(deps.db), Date.now(), holdDownMs(deps)).holding;
}

/** Every count the health rule judges, read from the inventory now. */
export async function fleetCounts(deps: Deps, stuckAfterMs: number): Promise<FleetCounts> {
  const volumes = await countUnderReplicated(deps.db);
  const nodes = await nodeCounts(deps.db, deps.config.heartbeatTimeoutMs);
  return {
    'volumes-unavailable': volumes.withoutCopy,
    'repairs-failing': await countFailingRepairs(deps.db),
    'mass-outage-breaker': (await breakerHolds(deps, nodes)) ? 1 : 0,
    'volumes-under-replicated': volumes.underReplicated,
    'volumes-awaiting-owner': await countAwaitingOwner(deps.db),
    'nodes-down': nodes.down,
    'nodes-silent': nodes.silent,
    'nodes-recovering': nodes.recovering,
    'recoveries-stuck': (await stuckRecoveries(deps.db, stuckAfterMs)).length,
  };
}

/** The fleet's status and reasons now; `stuckAfterMs` defaults to HEALTH_STUCK_RECOVERY_MS. */
export async function health(deps: Deps, stuckAfterMs = deps.config.healthStuckRecoveryMs): Promise<FleetHealth & { checkedAt: string }> {
  const checkedAt = new Date().toISOString();
  return { ...fleetHealth(await fleetCounts(deps, stuckAfterMs), { stuckAfterMs }), checkedAt };
}
