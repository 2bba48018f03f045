// The oracles for one HTTP case: no 5xx and no hang; every error in the one shape; invalid
// input refused (a wrong credential with 401/403); a rejected request changes nothing; another
// tenant gets exactly what a missing id gets; reads match the byte model.
import { describeCase, type HttpCase } from './cases.js';
import { errorCode, errorShapeProblem, send, type HttpAnswer, type HttpOutcome } from './http.js';
import { countStatus, recordFailure, type Counter, type FuzzReport } from './report.js';
import { resolveHttp, type ResolvedHttp } from './resolve.js';
import { changed, type Snapshot, type StateProbe } from './state.js';
import type { World } from './world.js';

export interface Judging {
  w: World;
  report: FuzzReport;
  probe: StateProbe;
  timeoutMs: number;
  onFailure: (line: string) => void;
}

/** What the next case starts from: this state, a fresh probe, or a probe once the cluster settled. */
export type Verdict = { next: 'state'; state: Snapshot } | { next: 'probe' } | { next: 'settle' };

function fail(j: Judging, c: HttpCase, kind: Counter, detail: string): void {
  const f = recordFailure(j.report, { index: c.index, kind, request: describeCase(c), detail });
  j.onFailure(`FAIL ${kind} #${c.index}: ${f.request}\n    ${detail}\n    replay: ${f.replay}`);
}

const bodyText = (a: HttpAnswer) => a.body.toString('utf8').slice(0, 300);
const isCredentialRefusal = (why: string) => why.startsWith('credential ');

export async function judgeHttp(j: Judging, c: HttpCase, before: Snapshot): Promise<Verdict> {
  const r = await resolveHttp(j.w, c);
  const outcome = await send(r.url, r.method, r.headers, r.body, j.timeoutMs);
  j.report.requests++;
  if (outcome.kind !== 'answer') return noAnswer(j, c, r, outcome);
  const a = outcome.answer;
  countStatus(j.report, c.route, String(a.status));
  if (a.status >= 500) fail(j, c, 'serverErrors', `${a.status} ${bodyText(a)}`);
  if (a.status >= 400) {
    const shape = errorShapeProblem(a);
    if (shape) fail(j, c, 'badErrorShapes', `${a.status}: ${shape}`);
  }
  if (a.status < 300) await judgeAccepted(j, c, r, a);
  else checkRefusal(j, c, a);
  if (r.crossTenant) await judgeCrossTenant(j, c, a);
  if (a.status < 400) {
    j.report.accepted++;
    if (c.method === 'GET' || a.status >= 300) return { next: 'state', state: before };
    return r.write ? { next: 'probe' } : { next: 'settle' };
  }
  j.report.rejected++;
  const after = await j.probe.take();
  const diff = changed(before, after);
  if (diff.length) fail(j, c, 'stateChangesOnReject', `${a.status} ${errorCode(a)}; changed: ${diff.slice(0, 12).join(', ')}`);
  return { next: 'state', state: after };
}

function noAnswer(j: Judging, c: HttpCase, r: ResolvedHttp, outcome: Exclude<HttpOutcome, { kind: 'answer' }>): Verdict {
  countStatus(j.report, c.route, outcome.kind);
  if (r.write) j.w.model.forget(r.write.volumeId);
  if (outcome.kind === 'hang') fail(j, c, 'hangs', `no answer within ${j.timeoutMs} ms`);
  else fail(j, c, 'connectionErrors', outcome.message);
  return { next: 'settle' };
}

/**
 * A wrong credential is refused as such (401/403), before anything else is looked at — except
 * by Node's HTTP parser, which refuses oversized headers (431) before any application code.
 */
function checkRefusal(j: Judging, c: HttpCase, a: HttpAnswer): void {
  if (!c.why.some(isCredentialRefusal) || a.status === 401 || a.status === 403 || a.status === 431 || a.status >= 500) return;
  if (a.status === 400 && undecodablePath(c)) return; // the router refuses a malformed %-escape before any handler
  fail(j, c, 'authNotChecked', `${a.status} ${errorCode(a)} for ${c.why.find(isCredentialRefusal)}`);
}

function undecodablePath(c: HttpCase): boolean {
  return Object.values(c.params).some((p) => {
    if (typeof p !== 'object' || p.kind !== 'hostile') return false;
    try {
      decodeURIComponent(p.raw);
      return false;
    } catch {
      return true;
    }
  });
}

async function judgeAccepted(j: Judging, c: HttpCase, r: ResolvedHttp, a: HttpAnswer): Promise<void> {
  if (c.expect === 'invalid')
    fail(
      j,
      c,
      c.why.some(isCredentialRefusal) ? 'authNotChecked' : 'acceptedInvalid',
      `${a.status} for: ${c.why.join('; ')}; answer ${bodyText(a)}`,
    );
  if (r.read && j.w.model.has(r.read.volumeId)) {
    const mismatch = j.w.model.check(r.read.volumeId, r.read.offset, a.body);
    if (mismatch)
      fail(
        j,
        c,
        'byteMismatches',
        `read ${r.read.offset}+${r.read.length} of ${mismatch.volumeId}: got ${a.body.length} bytes, first difference at +${mismatch.at}`,
      );
  }
  if (r.write && c.expect === 'any') j.w.model.write(r.write.volumeId, r.write.offset, r.write.data);
  track(j, c, r, a);
  await checkListings(j, c, r, a);
}

const TRACKED = ['volume.create', 'snapshot.create', 'volume.delete', 'snapshot.delete'];

function parseJson(a: HttpAnswer): unknown {
  try {
    return JSON.parse(a.body.toString('utf8'));
  } catch {
    return null;
  }
}

/** What the run created as the owner, for the scratch and latest references. */
function track(j: Judging, c: HttpCase, r: ResolvedHttp, a: HttpAnswer): void {
  if (r.actor !== 'owner' || !TRACKED.includes(c.route)) return;
  const body = parseJson(a) as { volumeId?: string; snapshotId?: string } | null;
  const { created } = j.w;
  if (c.route === 'volume.create' && body?.volumeId) created.volumes.push(body.volumeId);
  if (c.route === 'snapshot.create' && body?.snapshotId && c.params.id?.kind !== 'foreign') created.snapshots.push(body.snapshotId);
  if (c.route === 'volume.delete' && c.params.id?.kind === 'scratch') created.volumes.pop();
  if (c.route === 'snapshot.delete' && c.params.sid?.kind === 'latest') created.snapshots.pop();
}

/** A tenant's listings name only its own volumes. */
async function checkListings(j: Judging, c: HttpCase, r: ResolvedHttp, a: HttpAnswer): Promise<void> {
  if (!r.actor || (c.route !== 'volume.list' && c.route !== 'events')) return;
  const body = parseJson(a) as { volumes?: { volumeId: string }[]; events?: { volumeId: string }[] } | null;
  const ids = [...new Set((body?.volumes ?? body?.events ?? []).map((x) => x.volumeId))];
  if (!ids.length) return;
  const customer = r.actor === 'owner' ? j.w.owner.customerId : j.w.other.customerId;
  const { rows } = await j.w.scratch.db.query<{ id: string }>('select id from volumes where id = any($1) and customer_id <> $2', [
    ids,
    customer,
  ]);
  if (rows.length) fail(j, c, 'crossTenantLeaks', `${c.route} lists volumes of another customer: ${rows.map((x) => x.id).join(', ')}`);
}

/** Another tenant's id must be answered exactly as a missing one: same status, same code, never 2xx. */
async function judgeCrossTenant(j: Judging, c: HttpCase, a: HttpAnswer): Promise<void> {
  const control = await resolveHttp(j.w, c, true);
  const outcome = await send(control.url, control.method, control.headers, control.body, j.timeoutMs);
  if (outcome.kind !== 'answer') return;
  const b = outcome.answer;
  const same = a.status === b.status && errorCode(a) === errorCode(b);
  if (a.status < 300 || !same) {
    fail(
      j,
      c,
      'crossTenantLeaks',
      `another tenant's id: ${a.status} ${errorCode(a) ?? bodyText(a)}; a missing id: ${b.status} ${errorCode(b)}`,
    );
  }
}
