// `blackstart health`: the fleet's health like `ceph -s`, and an exit code a monitor can read
// (Nagios plugin convention): 0 ok, 1 warn, 2 error, 3 unknown (the API could not be asked, or refused).
import type { BlackstartClient, FleetHealthView } from './client.js';

export const EXIT_UNKNOWN = 3;
const EXIT: Record<FleetHealthView['status'], number> = { ok: 0, warn: 1, error: 2 };
const HEADLINE: Record<FleetHealthView['status'], string> = { ok: 'HEALTH_OK', warn: 'HEALTH_WARN', error: 'HEALTH_ERR' };
const TAG: Record<FleetHealthView['reasons'][number]['severity'], string> = { warn: 'WRN', error: 'ERR' };

/** "HEALTH_WARN", then one line per reason: "  [WRN] nodes-down: 1 node down". */
export function formatHealth(health: FleetHealthView): string {
  return [HEADLINE[health.status], ...health.reasons.map((r) => `  [${TAG[r.severity]}] ${r.code}: ${r.message}`)].join('\n');
}

/** Prints the fleet's health (or its raw answer with `json`) and answers the exit code. */
export async function runHealth(operator: BlackstartClient, opts: { json: boolean; stuckAfterSeconds?: string }): Promise<number> {
  let health: FleetHealthView;
  try {
    health = await operator.health(opts.stuckAfterSeconds);
  } catch (err) {
    console.error(`blackstart: health unknown: ${(err as Error).message}`);
    return EXIT_UNKNOWN;
  }
  console.log(opts.json ? JSON.stringify(health, null, 2) : formatHealth(health));
  return EXIT[health.status] ?? EXIT_UNKNOWN;
}
