// The compound generator (`npm run chaos -- --compound`) is pure and draws from a stream of its
// own: a compound scenario replays with --seed S --only K --compound, and the single-fault
// scenarios of every seed are what they were before compound scenarios existed.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  compoundScenarioFor,
  laterKinds,
  OTHER_VOLUME_BYTES,
  PROBE_BASE,
  TARGET_VOLUME_BYTES,
  type CompoundFaultKind,
  type CompoundScenario,
} from '../../chaos/compound-scenario.js';
import { scenarioFor, VOLUME_BYTES } from '../../chaos/scenario.js';

const TIMINGS = { peerWaitMs: 3000, heartbeatTimeoutMs: 1500 };
const NETWORK = { ...TIMINGS, networkHosts: true };
const many = (seed: number, n: number, timings = TIMINGS): CompoundScenario[] =>
  Array.from({ length: n }, (_, i) => compoundScenarioFor(seed, i, timings));

describe('compound chaos scenarios', () => {
  it('are the same for the same seed and index, whatever ran before, and differ across seeds', () => {
    const alone = compoundScenarioFor(42, 17, TIMINGS);
    many(42, 17);
    expect(compoundScenarioFor(42, 17, TIMINGS)).toEqual(alone);
    expect(compoundScenarioFor(43, 17, TIMINGS)).not.toEqual(alone);
  });

  it('draw 2 to 4 faults, the first taking nodes down (a flicker or an outage), and an outage never later', () => {
    const counts = new Set<number>();
    for (const s of many(3, 400)) {
      expect(s.faults.length).toBeGreaterThanOrEqual(2);
      expect(s.faults.length).toBeLessThanOrEqual(4);
      counts.add(s.faults.length);
      expect(['flicker', 'outage']).toContain(s.faults[0]!.kind);
      expect(s.faults.slice(1).map((f) => f.kind)).not.toContain('outage');
    }
    expect(counts).toEqual(new Set([2, 3, 4]));
  });

  it('draw every fault kind over many seeds, network faults only on network hosts', () => {
    const kinds = (timings: typeof TIMINGS) =>
      new Set([1, 2, 3, 4, 5].flatMap((seed) => many(seed, 100, timings).flatMap((s) => s.faults.map((f) => f.kind))));
    const all: CompoundFaultKind[] = ['outage', ...laterKinds(true)];
    expect(kinds(NETWORK)).toEqual(new Set(all));
    expect(kinds(TIMINGS)).toEqual(new Set(all.filter((k) => k !== 'network')));
  });

  it('flicker within the heartbeat timeout and past it', () => {
    const flickers = many(5, 400).flatMap((s) => s.faults.filter((f) => f.kind === 'flicker'));
    expect(flickers.some((f) => f.firstDownMs < TIMINGS.heartbeatTimeoutMs)).toBe(true);
    expect(flickers.some((f) => f.firstDownMs > TIMINGS.heartbeatTimeoutMs)).toBe(true);
  });

  it('take both copies of the target down first when a later fault needs a volume recovery, and keep the target awaiting its owner when one needs that', () => {
    for (const s of many(7, 400)) {
      const later = s.faults.slice(1).map((f) => f.kind);
      const opener = s.faults[0]!;
      if (opener.kind !== 'flicker' && opener.kind !== 'outage') throw new Error('unreachable');
      if (later.some((k) => ['restore-target', 'restored-holder', 'second-incident'].includes(k)))
        expect(['both', 'dc']).toContain(opener.scope);
      if (later.some((k) => ['restored-holder', 'second-incident'].includes(k))) expect(s.volumes[0]!.autoEnableIo).toBe(false);
    }
  });

  it('start a failover first when a rebuild target is to fail and nothing else starts a rebuild', () => {
    const starters = ['restore-target', 'restored-holder', 'second-incident', 'new-primary'];
    const lone = many(13, 600).filter(
      (s) => s.faults.some((f) => f.kind === 'rebuild-target') && !s.faults.some((f) => starters.includes(f.kind)),
    );
    expect(lone.length).toBeGreaterThan(10);
    for (const s of lone) {
      const opener = s.faults[0]!;
      if (opener.kind !== 'outage') throw new Error(`the first fault of scenario ${s.index} is ${opener.kind}, not an outage`);
      expect(['primary', 'secondary', 'power-domain']).toContain(opener.scope);
      for (const d of opener.returnDelaysMs) expect(d).toBeGreaterThan(TIMINGS.heartbeatTimeoutMs);
    }
  });

  it('order the faults that wait for a state as those states arise in one recovery: restore, awaiting the owner, enable, rebuild', () => {
    const rank = ['restore-target', 'restored-holder', 'second-incident', 'new-primary', 'rebuild-target'];
    for (const s of many(9, 400)) {
      const triggered = s.faults.map((f) => rank.indexOf(f.kind)).filter((r) => r >= 0);
      expect(triggered).toEqual([...triggered].sort((a, b) => a - b));
    }
  });

  it('give the target room for a restore and a rebuild to be seen, every write its own range, and probes a region of their own', () => {
    for (const s of many(11, 200)) {
      expect(s.volumes.map((v) => v.sizeBytes)).toEqual([TARGET_VOLUME_BYTES, ...s.volumes.slice(1).map(() => OTHER_VOLUME_BYTES)]);
      const target = [...s.volumes[0]!.writes, ...(s.heldWrite ? [s.heldWrite] : [])].sort((a, b) => a.offset - b.offset);
      target.forEach((w, k) =>
        expect(w.offset + w.length).toBeLessThanOrEqual(k + 1 < target.length ? target[k + 1]!.offset : VOLUME_BYTES),
      );
      expect(VOLUME_BYTES).toBeLessThanOrEqual(PROBE_BASE);
      for (const v of s.volumes) expect(new Set(v.writes.map((w) => w.via))).toEqual(new Set(['api', 'nbd']));
    }
  });

  it('leave the single-fault scenarios exactly as they were drawn before compound scenarios existed', () => {
    // sha256 of JSON.stringify(scenarioFor(seed, 0..299)) as generated by the code before this change
    const before: [number, boolean, string][] = [
      [1, false, '3dcad1154ed7778b625ab3ef46148d4aee09c1f57d49af97b58ff07cca676e8e'],
      [5, true, 'd73496df39c0e416117241380ba654b442e7e995a640700691359de19e7810a5'],
    ];
    for (const [seed, networkHosts, digest] of before) {
      const all = Array.from({ length: 300 }, (_, i) => scenarioFor(seed, i, { peerWaitMs: 3000, networkHosts }));
      expect(createHash('sha256').update(JSON.stringify(all)).digest('hex')).toBe(digest);
    }
  });
});
