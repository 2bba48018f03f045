// The customer's volumes: awaiting a decision first (with the time left to the review deadline),
// then the rest; state, EBS-shaped status, I/O enabled or held, autoEnableIo.
import type { CustomerApi, Volume, VolumeStatus } from '../api';
import { bytes, timeLeft } from '../format';
import { Badge, Empty, ErrorNote, Loading, usePoll } from '../ui';

export interface VolumeRow {
  volume: Volume;
  status: VolumeStatus | null;
}

export async function loadVolumeRows(api: CustomerApi): Promise<VolumeRow[]> {
  const { volumes } = await api.volumes();
  const rows = await Promise.all(volumes.map(async (volume) => ({ volume, status: await api.status(volume.volumeId).catch(() => null) })));
  const awaiting = (r: VolumeRow) => (r.status?.actions.length ? 0 : 1);
  const deadline = (r: VolumeRow) => Date.parse(r.status?.reviewDeadline ?? '9999-12-31T00:00:00Z');
  return rows.sort(
    (a, b) => awaiting(a) - awaiting(b) || deadline(a) - deadline(b) || a.volume.createdAt.localeCompare(b.volume.createdAt),
  );
}

export function statusTone(status: string | undefined): 'ok' | 'warn' | 'bad' | 'info' {
  return status === 'ok' ? 'ok' : status === 'warning' ? 'warn' : status === 'impaired' ? 'bad' : 'info';
}

export function reviewDescription(s: VolumeStatus | null): string | null {
  const open = s?.events.find((e) => e.eventType === 'potential-data-inconsistency' && !e.notAfter);
  return open?.description ?? null;
}

function Row({ volume, status }: VolumeRow) {
  const awaiting = reviewDescription(status);
  const held = volume.ioState === 'paused';
  return (
    <tr>
      <th scope="row">
        <a href={`#/volumes/${volume.volumeId}`}>{volume.volumeId}</a>
        <br />
        <small>{bytes(volume.sizeBytes)}</small>
      </th>
      <td data-label="State">{volume.state}</td>
      <td data-label="Status">
        <Badge tone={statusTone(status?.volumeStatus.status)}>{status?.volumeStatus.status ?? 'unknown'}</Badge>
      </td>
      <td data-label="I/O">{held ? <Badge tone="bad">I/O held</Badge> : <Badge tone="ok">I/O enabled</Badge>}</td>
      <td data-label="Auto-enable I/O">{volume.autoEnableIo ? 'on' : 'off'}</td>
      <td data-label="Awaiting">
        {awaiting ? <strong>{awaiting}</strong> : '—'}
        {status?.reviewDeadline && (
          <>
            <br />
            <small>{timeLeft(status.reviewDeadline)}</small>
          </>
        )}
      </td>
    </tr>
  );
}

export function VolumesPage({ api }: { api: CustomerApi }) {
  const rows = usePoll(() => loadVolumeRows(api), 'volumes', 3000);
  return (
    <section>
      <h1>Volumes</h1>
      <ErrorNote error={rows.error} what="load your volumes" />
      {!rows.data && !rows.error && <Loading what="your volumes" />}
      {rows.data && rows.data.length === 0 && (
        <Empty>
          You have no volumes yet. Create one with <code>npx blackstart volume create --size 64MiB</code> or POST /v1/volumes.
        </Empty>
      )}
      {rows.data && rows.data.length > 0 && (
        <div class="table-scroll">
          <table class="stack">
            <caption>Volumes awaiting your decision come first.</caption>
            <thead>
              <tr>
                <th scope="col">Volume</th>
                <th scope="col">State</th>
                <th scope="col">Status</th>
                <th scope="col">I/O</th>
                <th scope="col">Auto-enable I/O</th>
                <th scope="col">Awaiting</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map((r) => (
                <Row key={r.volume.volumeId} {...r} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
