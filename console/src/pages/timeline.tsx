// A timeline plot of server recoveries: one row per node incident, from its admission to its
// return to service (still open: to now). An SVG with a text alternative.
import type { Recoveries } from '../api';
import { span } from '../format';

const ROW = 22;
const LEFT = 90;
const WIDTH = 640;

export function RecoveryTimeline({ recoveries, now = Date.now() }: { recoveries: Recoveries['recoveries']; now?: number }) {
  const rows = [...recoveries].reverse().slice(-20);
  if (rows.length === 0) return null;
  const start = Math.min(...rows.map((r) => Date.parse(r.admittedAt)));
  const end = Math.max(now, ...rows.map((r) => (r.inServiceAt ? Date.parse(r.inServiceAt) : now)));
  const x = (t: number) => LEFT + ((t - start) / Math.max(1, end - start)) * (WIDTH - LEFT - 10);
  const height = rows.length * ROW + 24;
  const summary = `${rows.length} server recoveries over ${span(end - start)}; ${rows.filter((r) => r.inServiceAt).length} back in service.`;
  return (
    <figure class="timeline-plot">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={summary} preserveAspectRatio="xMinYMin meet">
        {rows.map((r, i) => {
          const a = x(Date.parse(r.admittedAt));
          const b = x(r.inServiceAt ? Date.parse(r.inServiceAt) : now);
          return (
            <g key={r.workflowId}>
              <text x={4} y={i * ROW + 15} font-size="12">
                {r.nodeId}
              </text>
              <rect x={a} y={i * ROW + 4} width={Math.max(2, b - a)} height={ROW - 8} rx={3} fill={r.inServiceAt ? '#1d6b35' : '#7a4b00'} />
            </g>
          );
        })}
        <text x={LEFT} y={height - 6} font-size="11">
          0 s
        </text>
        <text x={WIDTH - 10} y={height - 6} font-size="11" text-anchor="end">
          {span(end - start)}
        </text>
      </svg>
      <figcaption>From admission to back in service (green; amber: not yet). {summary}</figcaption>
    </figure>
  );
}
