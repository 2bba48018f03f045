// How close together the runs of a snapshot policy's cron schedule can fall. Only forms whose
// spacing can be read off are accepted: the @-macros, `@every <duration>[/<offset>]`, and five
// fields (minute hour day-of-month month day-of-week). The spacing is the smallest gap between
// consecutive times of day, or across midnight, assuming any two consecutive days may both run
// (a day restriction only ever widens a gap, so this never accepts a tighter schedule).

const MACROS: Record<string, number> = {
  '@yearly': 365 * 86400,
  '@annually': 365 * 86400,
  '@monthly': 28 * 86400,
  '@weekly': 7 * 86400,
  '@daily': 86400,
  '@midnight': 86400,
  '@hourly': 3600,
};
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DAY_FIELD = /^[0-9A-Za-z*?,/-]{1,40}$/;

/** The least number of seconds between two runs, or null when the expression is not in an accepted form. */
export function minCronSpacingSeconds(expression: string): number | null {
  const expr = expression.trim().toLowerCase();
  if (expr in MACROS) return MACROS[expr]!;
  const every = /^@every\s+(\S+?)(?:\/(\S+))?$/.exec(expr);
  if (every) return every[2] !== undefined && durationSeconds(every[2]) === null ? null : durationSeconds(every[1]!);
  const fields = expr.split(/\s+/);
  if (fields.length !== 5 || !fields.slice(2).every((f) => DAY_FIELD.test(f))) return null;
  const minutes = values(fields[0]!, 0, 59);
  const hours = values(fields[1]!, 0, 23);
  if (!minutes || !hours) return null;
  const times = hours.flatMap((h) => minutes.map((m) => h * 60 + m)).sort((a, b) => a - b);
  let least = 1440 - times.at(-1)! + times[0]!;
  for (let i = 1; i < times.length; i++) least = Math.min(least, times[i]! - times[i - 1]!);
  return least * 60;
}

/** "90s", "5m", "1h30m", "2d": whole units only. */
function durationSeconds(text: string): number | null {
  if (!/^(\d{1,9}[smhd])+$/.test(text)) return null;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) total += Number(n) * UNIT_SECONDS[unit!]!;
  return total;
}

/** The sorted values a minute or hour field names: *, n, a-b, with an optional /step; comma lists. */
function values(field: string, min: number, max: number): number[] | null {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d{1,2}(?:-\d{1,2})?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) return null;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    const [from, to] = m[1] === '*' ? [min, max] : rangeOf(m[1]!, m[2] !== undefined, max);
    if (step < 1 || from < min || to > max || from > to) return null;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** "a-b" → [a, b]; "a" → [a, a], or [a, max] when stepped ("5/15" runs from 5 to the end). */
function rangeOf(text: string, stepped: boolean, max: number): [number, number] {
  const [a, b] = text.split('-').map(Number) as [number, number | undefined];
  return [a, b ?? (stepped ? max : a)];
}
