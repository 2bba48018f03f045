// One volume: status details, the events timeline (start, end, the proof of an auto-enable),
// decisions, snapshots and the snapshot policy (editable, snapshot-policy.tsx), and how to attach it.
import type { CustomerApi, StatusEvent } from '../api';
import { bytes, span, timeLeft, when } from '../format';
import { Badge, Empty, ErrorNote, Loading, usePoll } from '../ui';
import { Decisions } from './decisions';
import { SnapshotPolicyEditor } from './snapshot-policy';
import { statusTone } from './volumes';

function Timeline({ events }: { events: StatusEvent[] }) {
  if (events.length === 0) return <Empty>No events: nothing has happened to this volume since it was created.</Empty>;
  return (
    <ol class="timeline">
      {[...events].reverse().map((e) => (
        <li key={e.eventId}>
          <strong>{e.description}</strong> <Badge tone={e.notAfter ? 'info' : 'warn'}>{e.notAfter ? 'ended' : 'open'}</Badge>
          <br />
          <small>
            {e.eventType} · started {when(e.notBefore)}
            {e.notAfter ? ` · ended ${when(e.notAfter)} (after ${span(Date.parse(e.notAfter) - Date.parse(e.notBefore))})` : ''}
          </small>
          {e.proof && <p class="proof">Proof: {e.proof}</p>}
        </li>
      ))}
    </ol>
  );
}

function Snapshots({ api, id }: { api: CustomerApi; id: string }) {
  const list = usePoll(() => api.snapshots(id), `snaps-${id}`, 5000);
  return (
    <section aria-labelledby="snapshots">
      <h2 id="snapshots">Snapshots</h2>
      <ErrorNote error={list.error} what="list the snapshots" />
      {list.data && list.data.snapshots.length === 0 && <Empty>No snapshots of this volume yet.</Empty>}
      {list.data && list.data.snapshots.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Snapshot</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col">Taken</th>
              </tr>
            </thead>
            <tbody>
              {list.data.snapshots.map((s) => (
                <tr key={s.snapshotId}>
                  <th scope="row">{s.snapshotId}</th>
                  <td>{s.kind}</td>
                  <td>{s.error ? `${s.state}: ${s.error}` : s.state}</td>
                  <td>{when(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <SnapshotPolicyEditor api={api} id={id} />
    </section>
  );
}

export function VolumePage({ api, id }: { api: CustomerApi; id: string }) {
  const volume = usePoll(() => api.volume(id), `vol-${id}`, 2000);
  const status = usePoll(() => api.status(id), `status-${id}`, 2000);
  const v = volume.data;
  const s = status.data;
  return (
    <section>
      <h1>Volume {id}</h1>
      <p>
        <a href="#/volumes">← All volumes</a>
      </p>
      <ErrorNote error={volume.error ?? status.error} what="load this volume" />
      {(!v || !s) && !volume.error && <Loading what="the volume" />}
      {v && s && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge tone={statusTone(s.volumeStatus.status)}>{s.volumeStatus.status}</Badge>{' '}
              {s.volumeStatus.details.map((d) => `${d.name}: ${d.status}`).join(', ')}
            </dd>
            <dt>I/O</dt>
            <dd>{v.ioState === 'paused' ? 'held (requests wait, neither answered nor failed)' : 'enabled'}</dd>
            <dt>State</dt>
            <dd>
              {v.state}, epoch {v.epoch}, {s.volumeStatus.servingCopies} serving {s.volumeStatus.servingCopies === 1 ? 'copy' : 'copies'}
            </dd>
            <dt>Size</dt>
            <dd>
              {bytes(v.sizeBytes)} ({v.blockSize}-byte blocks)
            </dd>
            <dt>Auto-enable I/O</dt>
            <dd>{v.autoEnableIo ? 'on: re-enabled without you when a recovery proves no data was lost' : 'off'}</dd>
            {s.reviewDeadline && (
              <>
                <dt>Review deadline</dt>
                <dd>
                  {when(s.reviewDeadline)} ({timeLeft(s.reviewDeadline)}); with no decision by then the volume is archived.
                </dd>
              </>
            )}
          </dl>
          {s.actions.length > 0 && (
            <p class="note warn-note">
              <a href={`#/volumes/${id}/review`}>Review the restored copy</a> before you decide.
            </p>
          )}
          <Decisions
            api={api}
            volume={v}
            status={s}
            changed={() => {
              volume.reload();
              status.reload();
            }}
          />
          <section aria-labelledby="events">
            <h2 id="events">Events</h2>
            <Timeline events={s.events} />
          </section>
          <Snapshots api={api} id={id} />
          <section aria-labelledby="attach">
            <h2 id="attach">Attach</h2>
            <p>On your host, give block clients (qemu, fio, nbd-client) an NBD endpoint that follows the volume:</p>
            <pre tabIndex={0} aria-label="Attach command">
              <code>{`export BLACKSTART_API_KEY=…\nnpx blackstart attach ${id} --socket /tmp/${id}.sock`}</code>
            </pre>
          </section>
        </>
      )}
    </section>
  );
}
