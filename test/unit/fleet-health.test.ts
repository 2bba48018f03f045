// The fleet's health at a glance, stated as properties: ok exactly when nothing is counted, the
// status is the worst reason's severity, every nonzero count is one reason carrying it, and a
// count that rises never makes the status better.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HEALTH_CODES,
  fleetHealth,
  statusRank,
  type FleetCounts,
  type HealthCode,
  type HealthSeverity,
} from '../../common/rules/fleet-health.js';

/** The severity policy, written out: errors lose data availability or stop repairs; the rest warn. */
const POLICY: Record<HealthCode, HealthSeverity> = {
  'volumes-unavailable': 'error',
  'repairs-failing': 'error',
  'mass-outage-breaker': 'error',
  'volumes-under-replicated': 'warn',
  'volumes-awaiting-owner': 'warn',
  'nodes-down': 'warn',
  'nodes-silent': 'warn',
  'nodes-recovering': 'warn',
  'recoveries-stuck': 'warn',
};

const opts = { stuckAfterMs: 600_000 };
const zero = Object.fromEntries(HEALTH_CODES.map((c) => [c, 0])) as FleetCounts;
// mostly zeros, so that ok and single reasons are drawn often
const arbCount = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(5) }, fc.nat(1_000_000));
const arbCounts: fc.Arbitrary<FleetCounts> = fc.record(
  Object.fromEntries(HEALTH_CODES.map((c) => [c, arbCount])) as Record<HealthCode, fc.Arbitrary<number>>,
);
const arbCode = fc.constantFrom(...HEALTH_CODES);

describe('fleet health', () => {
  it('is ok exactly when every count is 0, and then has no reason', () => {
    fc.assert(
      fc.property(arbCounts, (counts) => {
        const health = fleetHealth(counts, opts);
        const allZero = HEALTH_CODES.every((c) => counts[c] === 0);
        expect(health.status === 'ok').toBe(allZero);
        if (allZero) expect(health.reasons).toEqual([]);
      }),
    );
  });

  it('when something is counted, then the status is the worst severity among the reasons', () => {
    fc.assert(
      fc.property(arbCounts, (counts) => {
        const { status, reasons } = fleetHealth(counts, opts);
        const worst = Math.max(0, ...reasons.map((r) => statusRank(r.severity)));
        expect(statusRank(status)).toBe(worst);
      }),
    );
  });

  it('gives every nonzero count exactly one reason, with its count and the policy’s severity, errors first', () => {
    fc.assert(
      fc.property(arbCounts, (counts) => {
        const { reasons } = fleetHealth(counts, opts);
        for (const code of HEALTH_CODES) {
          const mine = reasons.filter((r) => r.code === code);
          expect(mine).toHaveLength(counts[code] > 0 ? 1 : 0);
          if (mine[0]) {
            expect(mine[0].count).toBe(counts[code]);
            expect(mine[0].severity).toBe(POLICY[code]);
            expect(mine[0].message.length).toBeGreaterThan(0);
          }
        }
        const ranks = reasons.map((r) => statusRank(r.severity));
        expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
      }),
    );
  });

  it('is monotone: raising any count never improves the status', () => {
    fc.assert(
      fc.property(arbCounts, arbCode, fc.integer({ min: 1, max: 1000 }), (counts, code, more) => {
        const before = fleetHealth(counts, opts).status;
        const after = fleetHealth({ ...counts, [code]: counts[code] + more }, opts).status;
        expect(statusRank(after)).toBeGreaterThanOrEqual(statusRank(before));
      }),
    );
  });

  it('says each count for people, like ceph -s', () => {
    const { status, reasons } = fleetHealth({ ...zero, 'volumes-under-replicated': 3, 'nodes-down': 1, 'recoveries-stuck': 2 }, opts);
    expect(status).toBe('warn');
    expect(reasons.map((r) => r.message)).toEqual([
      '3 volumes under-replicated (fewer than two in-service copies)',
      '1 node down',
      '2 server recoveries open longer than 10 min',
    ]);
    expect(fleetHealth({ ...zero, 'volumes-unavailable': 1 }, opts).reasons[0]!.message).toBe('1 volume with no in-service copy');
    expect(fleetHealth({ ...zero, 'volumes-awaiting-owner': 1 }, { stuckAfterMs: 90_000 }).reasons[0]!.message).toBe(
      "1 volume awaiting its owner's decision",
    );
  });

  it('refuses a count that is not a non-negative integer, and a bound that is not positive', () => {
    fc.assert(
      fc.property(arbCode, fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.constant(Number.NaN)), (code, bad) => {
        expect(() => fleetHealth({ ...zero, [code]: bad }, opts)).toThrow(RangeError);
      }),
    );
    expect(() => fleetHealth(zero, { stuckAfterMs: 0 })).toThrow(RangeError);
  });
});
