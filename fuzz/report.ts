// The run's counters, its first failures (each with the command that replays it) and the summary line.

export const COUNTERS = [
  'serverErrors',
  'hangs',
  'stateChangesOnReject',
  'crossTenantLeaks',
  'byteMismatches',
  'acceptedInvalid',
  'authNotChecked',
  'badErrorShapes',
  'connectionErrors',
] as const;
export type Counter = (typeof COUNTERS)[number];

export interface Failure {
  seed: number;
  index: number;
  kind: Counter;
  request: string;
  detail: string;
  replay: string;
}

export interface FuzzReport extends Record<Counter, number> {
  seed: number;
  requests: number;
  /** Requests answered 2xx, 4xx; NBD cases. */
  accepted: number;
  rejected: number;
  nbdCases: number;
  seconds: number;
  /** Answers by route and status. */
  statuses: Record<string, Record<string, number>>;
  failures: Failure[];
  clusterDir: string;
}

export const MAX_FAILURES_KEPT = 100;

export function emptyReport(seed: number, clusterDir: string): FuzzReport {
  const counters = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;
  return { seed, requests: 0, accepted: 0, rejected: 0, nbdCases: 0, seconds: 0, statuses: {}, failures: [], clusterDir, ...counters };
}

export function recordFailure(report: FuzzReport, f: Omit<Failure, 'seed' | 'replay'>): Failure {
  report[f.kind]++;
  const failure = { ...f, seed: report.seed, replay: `npm run fuzz -- --seed ${report.seed} --only ${f.index}` };
  if (report.failures.length < MAX_FAILURES_KEPT) report.failures.push(failure);
  return failure;
}

export function countStatus(report: FuzzReport, route: string, status: string): void {
  const byStatus = (report.statuses[route] ??= {});
  byStatus[status] = (byStatus[status] ?? 0) + 1;
}

export function failedCount(report: FuzzReport): number {
  return COUNTERS.reduce((n, c) => n + report[c], 0);
}

export function summaryLine(r: FuzzReport): string {
  const counts = COUNTERS.map((c) => `${c}=${r[c]}`).join(' ');
  return `fuzz seed=${r.seed}: ${r.requests} requests (${r.accepted} accepted, ${r.rejected} rejected, ${r.nbdCases} NBD) in ${r.seconds.toFixed(0)} s; ${counts} -> ${failedCount(r) ? 'FAILED' : 'ok'}`;
}
