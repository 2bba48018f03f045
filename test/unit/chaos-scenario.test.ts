// The chaos generator is pure: a scenario is a function of (seed, index) alone, so a failing
// one replays with --seed S --only K; and it never damages every copy of a volume.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../chaos/prng.js';
import { scenarioFor, VOLUME_BYTES } from '../../chaos/scenario.js';

const TIMINGS = { peerWaitMs: 3000 };

describe('chaos scenarios', () => {
  it('are the same for the same seed and index, whatever ran before', () => {
    const alone = scenarioFor(42, 17, TIMINGS);
    for (let i = 0; i < 17; i++) scenarioFor(42, i, TIMINGS);
    expect(scenarioFor(42, 17, TIMINGS)).toEqual(alone);
    expect(scenarioFor(43, 17, TIMINGS)).not.toEqual(alone);
  });

  it('damage only a copy the fault took down, inside an acknowledged write', () => {
    for (let i = 0; i < 500; i++) {
      const s = scenarioFor(7, i, TIMINGS);
      if (!s.corruption) continue;
      const down = s.fault === 'both' ? ['primary', 'secondary'] : [s.fault === 'power-domain' ? s.domainOf : s.fault];
      expect(down).toContain(s.corruption.copy);
      expect(s.volumes[0]!.writes.some((w) => w.offset <= s.corruption!.at && s.corruption!.at < w.offset + w.length)).toBe(true);
    }
  });

  it('give every write its own range inside the volume, so each is checked on its own', () => {
    for (let i = 0; i < 200; i++) {
      const s = scenarioFor(9, i, TIMINGS);
      const target = [...s.volumes[0]!.writes, ...(s.heldWrite ? [s.heldWrite] : [])].sort((a, b) => a.offset - b.offset);
      target.forEach((w, k) => {
        expect(w.offset + w.length).toBeLessThanOrEqual(k + 1 < target.length ? target[k + 1]!.offset : VOLUME_BYTES);
      });
    }
  });

  it('bring some nodes back after the peer wait, and some within it', () => {
    const delays = Array.from({ length: 200 }, (_, i) => scenarioFor(3, i, TIMINGS).returnDelaysMs).flat();
    expect(delays.some((d) => d > TIMINGS.peerWaitMs)).toBe(true);
    expect(delays.some((d) => d < TIMINGS.peerWaitMs)).toBe(true);
  });

  it('send every other write through the attach path, so every volume is written both ways', () => {
    const held = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = scenarioFor(11, i, TIMINGS);
      for (const v of s.volumes) expect(new Set(v.writes.map((w) => w.via))).toEqual(new Set(['api', 'nbd']));
      const writes = s.volumes.flatMap((v) => v.writes);
      writes.slice(1).forEach((w, k) => expect(w.via).not.toBe(writes[k]!.via));
      for (const w of writes.filter((x) => x.via === 'nbd')) expect(w.pattern >= 1 && w.pattern <= 255).toBe(true);
      if (s.heldWrite) held.add(s.heldWrite.via);
    }
    expect(held).toEqual(new Set(['api', 'nbd']));
  });

  it('draw write paths from a stream of their own: the rest of a scenario is as it was without them', () => {
    // seed 1's scenarios 0 and 8 (in the integration subset) as generated before writes had paths
    const before = {
      0: { fault: 'primary', crash: 'api', held: { offset: 16564, length: 2235 }, writes: [2, 4], returnDelaysMs: [265, 5579] },
      8: { fault: 'both', crash: 'temporal', held: { offset: 20981, length: 2311 }, writes: [2, 2, 3], returnDelaysMs: [341, 5990] },
    };
    for (const [index, expected] of Object.entries(before)) {
      const s = scenarioFor(1, Number(index), TIMINGS);
      const held = s.heldWrite && { offset: s.heldWrite.offset, length: s.heldWrite.length };
      expect({
        fault: s.fault,
        crash: s.crash?.process,
        held,
        writes: s.volumes.map((v) => v.writes.length),
        returnDelaysMs: s.returnDelaysMs,
      }).toEqual(expected);
    }
  });

  it('on network hosts, trade about half the node faults for network faults, of every kind, and leave the rest as they were', () => {
    const network = { ...TIMINGS, networkHosts: true };
    const drawn = Array.from({ length: 300 }, (_, i) => scenarioFor(5, i, network));
    const faulted = drawn.filter((s) => s.network);
    expect(faulted.length).toBeGreaterThan(100);
    expect(faulted.length).toBeLessThan(200);
    expect(new Set(faulted.map((s) => s.network!.kind)).size).toBe(6);
    for (const s of faulted) expect(s.corruption).toBeNull();
    drawn.forEach((s, i) => {
      if (!s.network) expect(s).toEqual(scenarioFor(5, i, TIMINGS));
      else expect({ ...s, network: null, corruption: null }).toEqual({ ...scenarioFor(5, i, TIMINGS), corruption: null });
    });
    expect(Array.from({ length: 300 }, (_, i) => scenarioFor(5, i, TIMINGS)).every((s) => s.network === null)).toBe(true);
  });

  it('draw from a PRNG that is a pure function of its keys', () => {
    expect(Prng.of(1, 2).bytes(16)).toEqual(Prng.of(1, 2).bytes(16));
    expect(Prng.of(1, 2).bytes(16)).not.toEqual(Prng.of(2, 1).bytes(16));
  });
});
