// A one-line progress bar on stderr (redrawn in place on a terminal, a line per step otherwise).

export class Progress {
  private lastLine = '';

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, note = ''): void {
    const width = 30;
    const filled = Math.round((Math.min(done, this.total) / Math.max(1, this.total)) * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${note}`;
    if (line === this.lastLine) return;
    this.lastLine = line;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
    else if (done === this.total || done % Math.max(1, Math.ceil(this.total / 10)) === 0) process.stderr.write(`${line}\n`);
  }

  done(note = ''): void {
    this.update(this.total, note);
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The largest number of [start, end] intervals open at one instant. */
export function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals
    .flatMap(
      ([s, e]) =>
        [
          [s, 1],
          [e, -1],
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (open += d));
  return max;
}
