// The fleet benchmark's plot: Vega-Lite compiled to Vega, rendered to SVG in Node (no canvas).
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface FleetSample {
  t: number /* ms since power returned */;
  inService: number;
  restored: number;
  rejections: number /* cumulative admission rejections */;
}

export interface FleetPlotInput {
  samples: FleetSample[];
  restores: [number, number][] /* [startMs, endMs] since power returned */;
  nodes: number;
  volumes: number;
  title: string;
}

export interface RatePoint {
  from: number /* ms */;
  to: number /* ms */;
  perSecond: number;
}

const X_TITLE = 'seconds since power returned';
const WIDTH = 720;

/** Restores running at `t`: each interval covers [start, end), so the count drops at the end. */
export function inFlightAt(restores: [number, number][], t: number): number {
  return restores.filter(([start, end]) => start <= t && t < end).length;
}

/** In-flight counts at every sample time and every interval edge, in time order. */
export function inFlightSeries(samples: FleetSample[], restores: [number, number][]): { t: number; n: number }[] {
  const times = new Set([...samples.map((s) => s.t), ...restores.flat()]);
  return [...times].sort((a, b) => a - b).map((t) => ({ t, n: inFlightAt(restores, t) }));
}

/** Admission rejections per second over each sample interval (differences of the cumulative counter). */
export function rejectionRate(samples: FleetSample[]): RatePoint[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const out: RatePoint[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.t > a.t) out.push({ from: a.t, to: b.t, perSecond: (b.rejections - a.rejections) / ((b.t - a.t) / 1000) });
  }
  return out;
}

function xEncoding(field: string, tMaxS: number) {
  return { field, type: 'quantitative' as const, title: X_TITLE, scale: { domain: [0, tMaxS], nice: false } };
}

function fractionPanel(input: FleetPlotInput, tMaxS: number) {
  const nodesLabel = `nodes in service (of ${input.nodes})`;
  const volumesLabel = `volumes restored (of ${input.volumes})`;
  const values = input.samples.flatMap((s) => [
    { s: s.t / 1000, series: nodesLabel, fraction: s.inService / Math.max(1, input.nodes) },
    { s: s.t / 1000, series: volumesLabel, fraction: s.restored / Math.max(1, input.volumes) },
  ]);
  return {
    width: WIDTH,
    height: 200,
    data: { values },
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: xEncoding('s', tMaxS),
      y: {
        field: 'fraction',
        type: 'quantitative' as const,
        title: 'share of fleet (%)',
        scale: { domain: [0, 1] },
        axis: { format: '.0%' },
      },
      color: {
        field: 'series',
        type: 'nominal' as const,
        title: null,
        scale: { domain: [nodesLabel, volumesLabel], range: ['#1f77b4', '#2ca02c'] },
        legend: { orient: 'top' as const, direction: 'horizontal' as const, labelLimit: 0 },
      },
    },
  };
}

function inFlightPanel(input: FleetPlotInput, tMaxS: number) {
  const values = inFlightSeries(input.samples, input.restores).map((p) => ({ s: p.t / 1000, n: p.n }));
  return {
    width: WIDTH,
    height: 120,
    data: { values },
    mark: { type: 'line' as const, interpolate: 'step-after' as const, color: '#d62728' },
    encoding: {
      x: xEncoding('s', tMaxS),
      y: { field: 'n', type: 'quantitative' as const, title: ['restores in flight', '(count)'], axis: { format: 'd', tickMinStep: 1 } },
    },
  };
}

function rejectionPanel(input: FleetPlotInput, tMaxS: number) {
  const values = rejectionRate(input.samples).map((r) => ({ from: r.from / 1000, to: r.to / 1000, rate: r.perSecond }));
  return {
    width: WIDTH,
    height: 120,
    data: { values },
    mark: { type: 'rect' as const, color: '#9467bd' },
    encoding: {
      x: xEncoding('from', tMaxS),
      x2: { field: 'to' },
      y: {
        field: 'rate',
        type: 'quantitative' as const,
        title: ['admission rejections', '(per second)'],
        axis: { format: '~g' },
        scale: { domainMin: 0, domainMax: Math.max(1, ...values.map((v) => v.rate)) },
      },
      y2: { datum: 0 },
    },
  };
}

export function fleetPlotSpec(input: FleetPlotInput): TopLevelSpec {
  const tMaxMs = Math.max(1000, ...input.samples.map((s) => s.t), ...input.restores.map(([, end]) => end));
  const tMaxS = tMaxMs / 1000;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    background: 'white',
    padding: 10,
    config: { font: 'sans-serif' },
    resolve: { scale: { x: 'shared' } },
    vconcat: [fractionPanel(input, tMaxS), inFlightPanel(input, tMaxS), rejectionPanel(input, tMaxS)],
  };
}

/** A standalone SVG of the fleet run: fractions restored, restores in flight, admission rejections per second. */
export async function fleetPlotSvg(input: FleetPlotInput): Promise<string> {
  const view = new View(parse(compile(fleetPlotSpec(input)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
