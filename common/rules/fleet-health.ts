// The fleet's health at a glance, like `ceph -s`: from counts the inventory gives cheaply to ok,
// warn or error, with one reason per nonzero count.
//
// Severity policy:
//  - error: data is unavailable, or the system has stopped repairing itself.
//      volumes-unavailable: volumes (not awaiting their owner) with no in-service copy at all;
//      repairs-failing: repairs the repair loop keeps failing at;
//      mass-outage-breaker: the breaker holds, so no failover starts anywhere in the fleet.
//  - warn: redundancy is reduced or something waits, but every volume still has a serving copy.
//      volumes-under-replicated: fewer than two in-service copies (this count includes the
//        unavailable volumes: an unavailable volume is also under-replicated);
//      volumes-awaiting-owner: a restored copy holds I/O until its owner decides;
//      nodes-down, nodes-recovering, and nodes-silent (in service, but no heartbeat for the heartbeat
//        timeout: not yet declared down, or held back by the breaker);
//      recoveries-stuck: server recoveries open longer than the bound and not waiting for an owner.
// The status is the worst severity among the reasons; ok exactly when every count is 0.

export type HealthStatus = 'ok' | 'warn' | 'error';
export type HealthSeverity = Exclude<HealthStatus, 'ok'>;

export interface HealthOptions {
  /** The bound past which an open server recovery is stuck. */
  stuckAfterMs: number;
}

interface Check {
  severity: HealthSeverity;
  message: (count: number, opts: HealthOptions) => string;
}

/** "1 volume", "3 volumes". */
const of = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

/** Every check, in the order the reasons are listed within a severity. */
const CHECKS = {
  'volumes-unavailable': { severity: 'error', message: (c) => `${of(c, 'volume', 'volumes')} with no in-service copy` },
  'repairs-failing': { severity: 'error', message: (c) => `${of(c, 'repair', 'repairs')} failing` },
  'mass-outage-breaker': {
    severity: 'error',
    message: () => 'mass-outage breaker open: no failover starts until the unreachable nodes report',
  },
  'volumes-under-replicated': {
    severity: 'warn',
    message: (c) => `${of(c, 'volume', 'volumes')} under-replicated (fewer than two in-service copies)`,
  },
  'volumes-awaiting-owner': {
    severity: 'warn',
    message: (c) => `${of(c, "volume awaiting its owner's", "volumes awaiting their owners'")} decision`,
  },
  'nodes-down': { severity: 'warn', message: (c) => `${of(c, 'node', 'nodes')} down` },
  'nodes-silent': { severity: 'warn', message: (c) => `${of(c, 'node', 'nodes')} in service but silent past the heartbeat timeout` },
  'nodes-recovering': { severity: 'warn', message: (c) => `${of(c, 'node', 'nodes')} recovering` },
  'recoveries-stuck': {
    severity: 'warn',
    message: (c, o) => `${of(c, 'server recovery', 'server recoveries')} open longer than ${duration(o.stuckAfterMs)}`,
  },
} satisfies Record<string, Check>;

export type HealthCode = keyof typeof CHECKS;
export const HEALTH_CODES = Object.keys(CHECKS) as HealthCode[];

/** One count per check; `mass-outage-breaker` is 1 while the breaker holds. */
export type FleetCounts = Record<HealthCode, number>;

export interface HealthReason {
  code: HealthCode;
  severity: HealthSeverity;
  count: number;
  /** For people: "3 volumes under-replicated (fewer than two in-service copies)". */
  message: string;
}

export interface FleetHealth {
  status: HealthStatus;
  reasons: HealthReason[];
}

const RANK: Record<HealthStatus, number> = { ok: 0, warn: 1, error: 2 };

/** The worse of two statuses. */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

/** 0, 1, 2 for ok, warn, error: the CLI's exit code and the `blackstart_health_status` gauge. */
export function statusRank(status: HealthStatus): number {
  return RANK[status];
}

/** The fleet's status and its reasons, errors first. A count that is not a non-negative integer is refused. */
export function fleetHealth(counts: FleetCounts, opts: HealthOptions): FleetHealth {
  if (!(opts.stuckAfterMs > 0)) throw new RangeError(`fleet health: stuckAfterMs must be positive, got ${opts.stuckAfterMs}`);
  for (const code of HEALTH_CODES) {
    const n = counts[code];
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`fleet health: count ${code} must be a non-negative integer, got ${n}`);
  }
  const reasons: HealthReason[] = [];
  for (const severity of ['error', 'warn'] as const) {
    for (const code of HEALTH_CODES) {
      const check: Check = CHECKS[code];
      const count = counts[code];
      if (check.severity === severity && count > 0) reasons.push({ code, severity, count, message: check.message(count, opts) });
    }
  }
  return { status: reasons.reduce<HealthStatus>((s, r) => worse(s, r.severity), 'ok'), reasons };
}

/** "10 min", "90 s", "2 h": a bound written for people. */
function duration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
