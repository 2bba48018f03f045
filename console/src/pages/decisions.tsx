// The decisions on a volume: each asks first and says what will happen, is disabled with the
// reason when the volume's status does not offer it, and shows the answer or the refusal.
import type { CustomerApi, Volume, VolumeStatus } from '../api';
import { ConfirmButton } from '../ui';

const NOT_YET = 'Offered only while a restored volume awaits your review.';

function offered(status: VolumeStatus, code: string): boolean {
  return status.actions.some((a) => a.code === code);
}

function reasons(volume: Volume, status: VolumeStatus) {
  const reviewing = status.actions.length > 0;
  const held = volume.ioState === 'paused';
  const archived = volume.state === 'archived';
  return {
    enable: offered(status, 'enable-volume-io')
      ? null
      : held
        ? 'The volume is still being recovered; this is offered once the restored copy is ready for review.'
        : 'I/O is already enabled.',
    snapshot: archived
      ? 'The volume is archived; its data is in its archive snapshot.'
      : held && !reviewing
        ? 'The volume is being recovered; try again once it awaits your review.'
        : null,
    archive: archived ? 'The volume is already archived.' : offered(status, 'archive-volume') ? null : NOT_YET,
    transfer: offered(status, 'transfer-volume') ? null : NOT_YET,
    remove: held && !reviewing ? 'The volume is being recovered; it can be deleted once it awaits your review.' : null,
  };
}

export function Decisions({
  api,
  volume,
  status,
  changed,
}: {
  api: CustomerApi;
  volume: Volume;
  status: VolumeStatus;
  changed: () => void;
}) {
  const id = volume.volumeId;
  const why = reasons(volume, status);
  const after = async (text: Promise<string>) => {
    const t = await text;
    changed();
    return t;
  };
  return (
    <section aria-labelledby="decisions">
      <h2 id="decisions">Decisions</h2>
      <div class="decisions">
        <ConfirmButton
          label="Enable I/O"
          title="Enable I/O on the restored copy?"
          disabledReason={why.enable}
          explain="The restored copy becomes the primary at a new epoch. Requests held since the outage are then answered in order, and a new secondary copy is rebuilt in another failure domain."
          run={() =>
            after(
              api
                .enableIo(id)
                .then((r) =>
                  r.alreadyEnabled
                    ? 'I/O was already enabled.'
                    : `IO Enabled: serving from ${r.nodeId ?? 'its node'} at epoch ${r.epoch ?? '?'}.`,
                ),
            )
          }
        />
        <ConfirmButton
          label="Snapshot"
          title="Take a snapshot?"
          disabledReason={why.snapshot}
          explain="A snapshot of the volume (under review: of the restored copy) is written to the snapshot store. Nothing else changes; a review keeps waiting for your decision."
          run={() => after(api.snapshot(id).then((s) => `Snapshot ${s.snapshotId} started (${s.state}).`))}
        />
        <ConfirmButton
          label="Archive"
          title="Archive this volume?"
          disabledReason={why.archive}
          explain="The restored copy is written to the snapshot store as an archive snapshot, then every copy is deleted. Held requests fail. To use the data again, create a volume from the archive snapshot."
          run={() => after(api.archive(id).then((r) => `Archived to snapshot ${r.snapshotId ?? ''}.`))}
        />
        <ConfirmButton
          label="Transfer"
          title="Transfer to another zone?"
          disabledReason={why.transfer}
          explain="The restored copy is rebuilt on a node in another zone, which then serves with I/O enabled; the old copy is deleted and a new secondary rebuilt."
          run={() =>
            after(api.transfer(id).then((r) => `Transferred: serving from ${r.nodeId ?? 'the new node'} at epoch ${r.epoch ?? '?'}.`))
          }
        />
        <ConfirmButton
          label="Delete"
          title="Delete this volume?"
          disabledReason={why.remove}
          explain="Every copy of the volume is deleted and its space freed. Held requests fail. Its snapshots are kept. This cannot be undone."
          run={() => after(api.remove(id).then((r) => (r.state === 'deleted' ? 'Deleted.' : 'Deleting: its copies are being removed.')))}
        />
      </div>
    </section>
  );
}
