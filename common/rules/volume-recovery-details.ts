// What a volume recovery is waiting for, in words, for Temporal's current details (the workflow
// page in the Web UI): derived from the machine's state alone — the command in flight and what
// the machine knows — so it never changes a decision. Pure.
import type { Command, VolumeRecoveryState as State } from './volume-recovery-types.js';

const at = (ms: number): string => new Date(ms).toISOString();

/** One line per fact: the phase and the wait first, then the copies known. */
export function currentDetails(s: State): string {
  const phase = s.stage.phase === 'done' ? 'Done' : s.stage.phase[0]!.toUpperCase() + s.stage.phase.slice(1);
  const doing = s.stage.phase === 'done' ? finished(s) : s.inFlight ? waitingOn(s, s.inFlight.command) : 'between steps';
  return [`**${phase}** (volume ${s.setup.volumeId}, incident epoch ${s.setup.epoch}): ${doing}`, copiesLine(s)].join('\n\n');
}

function waitingOn(s: State, c: Command): string {
  switch (c.type) {
    case 'waitForPeers':
      return waitingForPeers(s, c.timeoutMs);
    case 'waitForDecision':
      return waitingForDecision(s, c.deadline);
    case 'checkIncident':
      return `checking that incident epoch ${c.epoch} is still current (no member copy serves the volume)`;
    case 'restoreCopy': {
      const repairs = c.repairFrom.reduce((n, r) => n + r.blocks.length, 0);
      return `waiting for the restore of the copy on ${c.nodeId} (read-only, I/O held${repairs ? `; ${repairs} block(s) repaired from twins` : ''})`;
    }
    case 'readSettings':
      return `proof of no data loss (${proofOf(s) ?? 'none'}); reading the volume's autoEnableIo`;
    case 'takeSnapshot':
      return `taking review snapshot ${c.snapshotId} of the copy on ${c.nodeId}`;
    case 'joinAsSecondary':
      return `joining the identical copy on ${c.nodeId} as secondary at epoch ${c.epoch}`;
    case 'enableCopy':
      return `enabling I/O on ${c.nodeId} at epoch ${c.epoch}${c.secondary ? ` (secondary ${c.secondary})` : ''}`;
    case 'rebuildSecondary':
      return `rebuilding a secondary from ${c.source} (epoch ${c.epoch})`;
    case 'archive':
      return `archiving (decided by ${c.by}): a snapshot of the copy on ${c.nodeId} to the store, then every copy deleted`;
    case 'deleteVolume':
      return `deleting the volume (decided by ${c.by})`;
    case 'addCopy':
      return `transferring: copying from ${c.source} to a node in another zone`;
    case 'deleteCopy':
      return `deleting the copy on ${c.nodeId} (${c.reason})`;
    case 'repairCopy':
      return `repairing ${c.blocks.length} block(s) of ${c.nodeId} from the late copy on ${c.from}`;
    default:
      return `${c.type}${'nodeId' in c ? ` (${c.nodeId})` : ''}`;
  }
}

function waitingForPeers(s: State, timeoutMs: number): string {
  const offered = new Set(s.copies.candidates.map((c) => c.nodeId));
  const missing = s.setup.expectedNodes.filter((n) => !offered.has(n));
  const whom = missing.length ? `the copies on ${missing.join(', ')}` : 'the other copies';
  const until = at(s.now + timeoutMs);
  if (s.stage.phase !== 'configuration') return `waiting for ${whom} to be reported, until ${until}; then the best copy offered is elected`;
  const lost = s.stage.authority.winner.replica.unrecoverableBlocks.length;
  return `enable-io decided: waiting for ${whom}, which may hold the ${lost} block(s) the restore could not repair, until ${until}; then I/O is enabled`;
}

function waitingForDecision(s: State, deadline: number): string {
  const winner = s.stage.phase === 'configuration' ? s.stage.authority.winner : null;
  const copy = winner
    ? `restored on ${winner.nodeId} (epoch ${winner.replica.epoch}, writeSeq ${winner.replica.writeSeq}), I/O held; `
    : '';
  return `${copy}waiting for the owner's decision (enable-io, snapshot, archive, transfer, delete) until ${at(deadline)}; archived if none by then`;
}

function finished(s: State): string {
  if (s.stage.phase !== 'done') return '';
  const { winner, decision, epoch } = s.stage.outcome;
  return `${decision} — winner ${winner || 'none'}, epoch ${epoch}`;
}

function proofOf(s: State): string | null {
  return s.stage.phase === 'recovery' || s.stage.phase === 'configuration' ? (s.stage.authority?.proof ?? null) : null;
}

function copiesLine(s: State): string {
  const settled = new Map(s.copies.settled.map((c) => [c.nodeId, c.outcome]));
  const copies = s.copies.candidates.map(
    (c) =>
      `${c.nodeId} (epoch ${c.replica.epoch}, writeSeq ${c.replica.writeSeq}${settled.has(c.nodeId) ? `: ${settled.get(c.nodeId)}` : ''})`,
  );
  return `Copies offered: ${copies.length ? copies.join(', ') : 'none yet'}; expected on ${s.setup.expectedNodes.join(', ') || 'no other node'}`;
}
