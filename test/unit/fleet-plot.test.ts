import { describe, expect, it } from 'vitest';
import { fleetPlotSvg, inFlightAt, inFlightSeries, rejectionRate, type FleetSample } from '../../bench/fleet-plot.js';

const samples: FleetSample[] = [
  { t: 0, inService: 0, restored: 0, rejections: 0 },
  { t: 1000, inService: 2, restored: 0, rejections: 4 },
  { t: 2000, inService: 4, restored: 1, rejections: 10 },
  { t: 4000, inService: 4, restored: 3, rejections: 10 },
  { t: 6000, inService: 4, restored: 4, rejections: 11 },
];
const restores: [number, number][] = [
  [500, 2500],
  [1000, 3000],
  [1500, 5500],
];

describe('fleet plot helpers', () => {
  it('counts the restores covering a time, each over [start, end)', () => {
    expect(inFlightAt(restores, 0)).toBe(0);
    expect(inFlightAt(restores, 500)).toBe(1);
    expect(inFlightAt(restores, 1000)).toBe(2);
    expect(inFlightAt(restores, 2000)).toBe(3);
    expect(inFlightAt(restores, 2500)).toBe(2);
    expect(inFlightAt(restores, 3000)).toBe(1);
    expect(inFlightAt(restores, 5500)).toBe(0);
  });

  it('samples the in-flight count at every sample time and interval edge', () => {
    expect(inFlightSeries(samples, restores)).toEqual([
      { t: 0, n: 0 },
      { t: 500, n: 1 },
      { t: 1000, n: 2 },
      { t: 1500, n: 3 },
      { t: 2000, n: 3 },
      { t: 2500, n: 2 },
      { t: 3000, n: 1 },
      { t: 4000, n: 1 },
      { t: 5500, n: 0 },
      { t: 6000, n: 0 },
    ]);
  });

  it('turns the cumulative rejection counter into a rate per second over each interval', () => {
    expect(rejectionRate(samples)).toEqual([
      { from: 0, to: 1000, perSecond: 4 },
      { from: 1000, to: 2000, perSecond: 6 },
      { from: 2000, to: 4000, perSecond: 0 },
      { from: 4000, to: 6000, perSecond: 0.5 },
    ]);
    expect(rejectionRate([samples[0]!])).toEqual([]);
  });
});

describe('fleetPlotSvg', () => {
  it('renders a standalone SVG with titled axes, time ticks and a legend', async () => {
    const svg = await fleetPlotSvg({ samples, restores, nodes: 4, volumes: 4, title: 'fleet: 4 nodes' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('fill="white"');
    for (const text of [
      '>fleet: 4 nodes<',
      '>share of fleet (%)<',
      '>restores in flight<',
      '>(count)<',
      '>admission rejections<',
      '>(per second)<',
      '>100%<',
    ]) {
      expect(svg).toContain(text);
    }
    const xTicks = textsIn(svg, 'aria-label="X-axis', 'role-axis-title');
    // One x axis per panel, all on the shared time scale.
    expect(xTicks).toHaveLength(3);
    for (const ticks of xTicks) expect(ticks).toEqual(xTicks[0]);
    expect(xTicks[0]![0]).toBe('0.0');
    expect(xTicks[0]).toContain('6.0');
    expect(svg.split('>seconds since power returned<').length - 1).toBe(3);
    const [legend] = textsIn(svg, 'aria-label="Symbol legend', '</g></g></g>');
    expect(legend).toEqual(['nodes in service (of 4)', 'volumes restored (of 4)']);
  });
});

/** The <text> contents after each occurrence of `start`, up to the next `end`. */
function textsIn(svg: string, start: string, end: string): string[][] {
  return svg
    .split(start)
    .slice(1)
    .map((part) => [...part.split(end)[0]!.matchAll(/>([^<]*)<\/text>/g)].map((m) => m[1]!));
}
