// Whether the mass-outage breaker holds now: tripped by this check, or still within the hold-down
// of an earlier trip (`massOutageHold`). Shared by the heartbeat monitor (failovers) and the
// peer-drop requests, so a partition that heals re-mirrors nothing while its nodes come back.
import { massOutageHold } from '../common/rules/failover.js';
import { extendMassOutageHold, readMassOutageHold } from './repositories/settings.js';
import type { Deps } from './use-cases/deps.js';

/** Two heartbeat timeouts: the returning nodes' heartbeats arrive, and their reports start, before anything fails over. */
export function holdDownMs(deps: Deps): number {
  return 2 * deps.config.heartbeatTimeoutMs;
}

export async function breakerHolds(deps: Deps, tripped: boolean): Promise<boolean> {
  const now = Date.now();
  const { holding, holdUntil } = massOutageHold(tripped, await readMassOutageHold(deps.db), now, holdDownMs(deps));
  if (tripped && holdUntil !== null) await extendMassOutageHold(deps.db, holdUntil);
  return holding;
}
