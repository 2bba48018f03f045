// The fleet benchmark at several sizes in one run (50, 100 and 200 nodes by default), and how
// its times grow against the node count: growth = (time at N ÷ time at the smallest) ÷ (N ÷ the
// smallest), 1 is linear and the target ≤ 1.1; per-volume costs are compared plainly (value at N ÷
// value at the smallest), where 1 is flat.
import { join } from 'node:path';
import { fleetBench, type FleetOptions } from './fleet.js';
import { RESULTS_DIR, saveResult } from './results.js';

const TIMES = ['allNodesInServiceSeconds', 'admittedToInServiceP99Seconds', 'uniqueVolumesRestoredSeconds'] as const;
const PER_VOLUME = ['temporalActionsPerVolume', 'controlPlaneCpuMsPerVolume', 'cpuRatioToNoop', 'ceilingRatio'] as const;
const FIGURES = [...TIMES, ...PER_VOLUME];

export async function fleetScalingBench(sizes: number[], opts: Omit<FleetOptions, 'nodes' | 'plotPath'>) {
  const runs: Record<string, unknown>[] = [];
  for (const nodes of sizes) {
    process.stderr.write(`fleet-scaling: ${nodes} nodes\n`);
    const result = await fleetBench({ ...opts, nodes, plotPath: join(RESULTS_DIR, `fleet-${nodes}.svg`) });
    await saveResult('fleet', result, join(RESULTS_DIR, `fleet-${nodes}.json`));
    runs.push(result);
  }
  const timeGrowth = relativeTo(runs, sizes, TIMES, true);
  const linear = Object.values(timeGrowth).every((bySize) => Object.values(bySize).every((g) => g <= 1.1));
  return {
    sizes,
    timeGrowth,
    timesGrowLinearly: linear,
    perVolumeRatio: relativeTo(runs, sizes, PER_VOLUME, false),
    runs: runs.map(summary),
  };
}

/** Per figure and size: value ÷ the smallest size's value, divided by the node ratio when `perNode`. */
export function relativeTo(
  runs: Record<string, unknown>[],
  sizes: number[],
  figures: readonly string[],
  perNode: boolean,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const figure of figures) {
    const base = runs[0]?.[figure];
    if (typeof base !== 'number' || base === 0) continue;
    out[figure] = Object.fromEntries(
      runs.slice(1).map((r, i) => {
        const nodeRatio = perNode ? sizes[i + 1]! / sizes[0]! : 1;
        return [`${sizes[i + 1]}`, round((r[figure] as number) / base / nodeRatio)];
      }),
    );
  }
  return out;
}

function summary(r: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(['nodes', 'volumes', ...FIGURES, 'lostAcknowledgedWrites', 'admissionRejections'].map((k) => [k, r[k]]));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
