// The oracles for one NBD case: no hang at any step; a forged, expired or foreign export name
// is refused and no export is ever listed; a read answers the model's bytes; a valid request on
// a valid export is answered; a refused session changes nothing. TLS: STARTTLS is acknowledged
// and the session works over it; a second STARTTLS and one with data are ERR_INVALID; a broken
// start is closed by the node, never answered past it. A flood of idle connections is admitted up
// to the pre-auth cap exactly (fewer: slots leaked) while the session's requests go on.
import { NbdCmd, NbdRep } from '../storage-node/protocol/nbd-constants.js';
import { expand } from './bytes.js';
import { describeCase, type NbdCase } from './cases.js';
import type { Judging, Verdict } from './judge-http.js';
import { runNbdCase, type NbdResult } from './nbd-client.js';
import { countStatus, recordFailure, type Counter } from './report.js';
import { FIXTURE_VOLUME_BYTES } from './routes.js';
import { copiesOf } from './resolve.js';
import { changed, type Snapshot } from './state.js';

function fail(j: Judging, c: NbdCase, kind: Counter, detail: string): void {
  const f = recordFailure(j.report, { index: c.index, kind, request: describeCase(c), detail });
  j.onFailure(`FAIL ${kind} #${c.index}: ${f.request}\n    ${detail}\n    replay: ${f.replay}`);
}

export async function judgeNbd(j: Judging, c: NbdCase, before: Snapshot): Promise<Verdict> {
  const primary = (await copiesOf(j.w, j.w.owner.volumes[c.volume.kind === 'own' ? c.volume.slot : 0]!)).find(
    (x) => x.role === 'primary',
  )?.nodeId;
  const result = await runNbdCase(j.w, c, j.timeoutMs);
  j.report.requests++;
  j.report.nbdCases++;
  countStatus(j.report, 'nbd', result.handshake);
  if (result.handshake === 'hang') fail(j, c, 'hangs', `no handshake answer within ${j.timeoutMs} ms`);
  if (result.listed.length) fail(j, c, 'crossTenantLeaks', `the node listed exports: ${result.listed.join(', ').slice(0, 200)}`);
  if (result.handshake === 'ready' && c.expect === 'invalid') fail(j, c, 'acceptedInvalid', `export opened for: ${c.why.join('; ')}`);
  judgeTls(j, c, result);
  judgeFlood(j, c, result);
  let changedSomething = false;
  for (const step of result.ops) changedSomething = judgeOp(j, c, result, step, result.nodeId === primary) || changedSomething;
  if (result.ops.some((o) => o.outcome === 'hang')) return { next: 'settle' };
  if (changedSomething) return { next: 'probe' };
  j.report.rejected++;
  const after = await j.probe.take();
  const diff = changed(before, after);
  if (diff.length && result.ops.every((o) => o.outcome !== 'ok'))
    fail(j, c, 'stateChangesOnReject', `handshake ${result.handshake}; changed: ${diff.slice(0, 12).join(', ')}`);
  return { next: 'state', state: after };
}

function judgeTls(j: Judging, c: NbdCase, r: NbdResult): void {
  const t = c.transport;
  const tls = r.tls;
  if (!tls) return;
  if (tls.starttls === 'hang' || tls.end === 'hang' || tls.second === 'hang') fail(j, c, 'hangs', `TLS start ${JSON.stringify(tls)}`);
  if (t.kind === 'tls-injected' && tls.starttls !== 'closed')
    fail(j, c, 'acceptedInvalid', `STARTTLS with an option behind it in plaintext answered ${tls.starttls}`);
  if (t.kind === 'tls-data' && tls.starttls !== NbdRep.ERR_INVALID)
    fail(j, c, 'acceptedInvalid', `STARTTLS with data answered ${tls.starttls}`);
  if ((t.kind === 'tls' || t.kind === 'tls-garbage' || t.kind === 'tls-truncated') && tls.starttls !== 'ack')
    fail(j, c, 'serverErrors', `STARTTLS answered ${tls.starttls} by a node offering TLS`);
  if (t.kind === 'tls' && tls.error) fail(j, c, 'serverErrors', `TLS session failed: ${tls.error}`);
  if (t.kind === 'tls' && t.twice && tls.second !== NbdRep.ERR_INVALID)
    fail(j, c, 'acceptedInvalid', `a second STARTTLS answered ${tls.second}`);
}

function judgeFlood(j: Judging, c: NbdCase, r: NbdResult): void {
  const f = r.flood;
  if (!f) return;
  const cap = j.w.preAuthPerSource;
  if (f.hung) fail(j, c, 'hangs', `${f.hung} idle connections neither greeted nor closed`);
  if (f.greeted > cap) fail(j, c, 'acceptedInvalid', `${f.greeted} idle connections admitted past a cap of ${cap} per source`);
  if (f.greeted < cap) fail(j, c, 'serverErrors', `only ${f.greeted} of the ${cap} pre-auth slots free: slots leaked`);
}

/** A zero-length request inside the export is a no-op a server may answer OK. */
const inRange = (offset: number, length: number) => offset + length <= FIXTURE_VOLUME_BYTES;

/** Judges one request's answer; true when it may have changed the volume. */
function judgeOp(j: Judging, c: NbdCase, r: NbdResult, step: NbdResult['ops'][number], onPrimary: boolean): boolean {
  const { op } = step;
  if (step.outcome === 'hang') {
    if (op.op === 'write') j.w.model.forget(r.volumeId);
    fail(j, c, 'hangs', `${op.op} got no answer within ${j.timeoutMs} ms`);
    return true;
  }
  const read = op.op === 'read' ? op : op.op === 'cmd' && op.command === NbdCmd.READ ? op : null;
  const validIo = (op.op === 'read' || op.op === 'write') && r.access !== null && (r.access === 'io' ? onPrimary : op.op === 'read');
  if (step.outcome !== 'ok') {
    if (validIo && c.expect === 'any')
      fail(j, c, 'serverErrors', `${op.op} ${JSON.stringify({ ...op, bytes: undefined })} answered ${step.outcome} ${step.errno ?? ''}`);
    return step.outcome === 'closed' && op.op === 'write';
  }
  if (read) {
    if (!inRange(read.offset, read.length)) fail(j, c, 'acceptedInvalid', `read ${read.offset}+${read.length} past the end answered OK`);
    else if (j.w.model.has(r.volumeId) && step.data) {
      const m = j.w.model.check(r.volumeId, read.offset, step.data);
      if (m)
        fail(
          j,
          c,
          'byteMismatches',
          `NBD read ${read.offset}+${read.length} of ${r.volumeId} on ${r.nodeId}: first difference at +${m.at}`,
        );
    }
  }
  if (op.op === 'write') {
    if (r.access === 'review') fail(j, c, 'acceptedInvalid', 'a write on a read-only review export answered OK');
    else if (c.expect === 'any') j.w.model.write(r.volumeId, op.offset, expand(op.bytes));
    return true;
  }
  return op.op === 'cmd';
}
