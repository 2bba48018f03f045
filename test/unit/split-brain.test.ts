// The split-brain check over the nodes' ack evidence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ackLines, IN_FLIGHT_GRACE_MS, splitBrainWrites, type AckLine } from '../../chaos/split-brain.js';

const ack = (nodeId: string, epoch: number, at: number, volumeId = 'v'): AckLine => ({ nodeId, volumeId, epoch, at });

describe('the split-brain check', () => {
  it('accepts a failover: the old primary stops acknowledging before the new one starts', () => {
    expect(splitBrainWrites([ack('a', 1, 0), ack('a', 1, 100), ack('b', 2, 300), ack('b', 2, 5000)])).toEqual([]);
  });

  it('accepts an old primary answering a write already mirrored, within one round trip of the promotion', () => {
    expect(splitBrainWrites([ack('b', 2, 1000), ack('a', 1, 1000 + IN_FLIGHT_GRACE_MS)])).toEqual([]);
  });

  it('finds two copies acknowledging at different epochs at the same time', () => {
    const found = splitBrainWrites([ack('b', 2, 1000), ack('a', 1, 4000)]);
    expect(found).toEqual([{ volumeId: 'v', older: { nodeId: 'a', epoch: 1, at: 4000 }, newer: { nodeId: 'b', epoch: 2, firstAt: 1000 } }]);
  });

  it('never flags one copy moving through epochs, nor copies of different volumes', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ epoch: fc.integer({ min: 1, max: 5 }), at: fc.nat(100_000) })), (points) => {
        expect(splitBrainWrites(points.map((p) => ack('a', p.epoch, p.at)))).toEqual([]);
        expect(splitBrainWrites(points.map((p, i) => ack(`n${i}`, p.epoch, p.at, `v${i}`)))).toEqual([]);
      }),
    );
  });

  it('flags exactly the older-epoch lines past the grace after a newer epoch started elsewhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ node: fc.constantFrom('a', 'b'), epoch: fc.integer({ min: 1, max: 3 }), at: fc.nat(20_000) })),
        (ps) => {
          const lines = ps.map((p) => ack(p.node, p.epoch, p.at));
          const expected = lines.filter((o) =>
            lines.some((n) => n.nodeId !== o.nodeId && n.epoch > o.epoch && o.at > n.at + IN_FLIGHT_GRACE_MS),
          ).length;
          const flaggedLines = new Set(splitBrainWrites(lines).map((f) => `${f.older.nodeId}/${f.older.epoch}/${f.older.at}`));
          expect(flaggedLines.size > 0).toBe(expected > 0);
        },
      ),
    );
  });

  it('reads the ack lines out of an operations log and ignores every other line', () => {
    const log = [
      '{"at":"2026-12-01T10:00:00.000Z","op":"create","volumeId":"v"}',
      '{"at":"2026-12-01T10:00:01.000Z","op":"ack","volumeId":"v","epoch":3,"peer":"n2"}',
    ].join('\n');
    expect(ackLines('n1', log)).toEqual([ack('n1', 3, Date.parse('2026-12-01T10:00:01.000Z'))]);
  });
});
