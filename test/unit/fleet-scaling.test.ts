// The scaling run's arithmetic: times are judged against the node count, per-volume costs plainly.
import { describe, expect, it } from 'vitest';
import { relativeTo } from '../../bench/fleet-scaling.js';

const runs = [
  { allNodesInServiceSeconds: 10, temporalActionsPerVolume: 12 },
  { allNodesInServiceSeconds: 20, temporalActionsPerVolume: 12 },
  { allNodesInServiceSeconds: 50, temporalActionsPerVolume: 6 },
];

describe('fleet scaling', () => {
  it('divides a time ratio by the node ratio: twice the nodes in twice the time is 1, four times in five times is 1.25', () => {
    expect(relativeTo(runs, [50, 100, 200], ['allNodesInServiceSeconds'], true)).toEqual({
      allNodesInServiceSeconds: { '100': 1, '200': 1.25 },
    });
  });

  it('compares a per-volume cost plainly against the smallest run', () => {
    expect(relativeTo(runs, [50, 100, 200], ['temporalActionsPerVolume'], false)).toEqual({
      temporalActionsPerVolume: { '100': 1, '200': 0.5 },
    });
  });

  it('leaves out a figure the smallest run lacks or measured as zero', () => {
    expect(relativeTo([{ x: 0 }, { x: 3 }], [50, 100], ['x', 'y'], true)).toEqual({});
  });
});
