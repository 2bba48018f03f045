// The oracles for one NBD case: no hang at any step; a forged, expired or foreign export name
// is refused and no export is ever listed; a read answers the model's bytes; a valid request on
// a valid export is answered; a refused session changes nothing.
import { NbdCmd } from '../storage-node/protocol/nbd-constants.js';
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
