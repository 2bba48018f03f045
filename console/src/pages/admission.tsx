// Admission and the breaker: the bound, who recovers, who waits; the mass-outage breaker; the
// throttle settings, editable. And the review queue: every volume awaiting its owner, oldest first.
import { useEffect, useState } from 'preact/hooks';
import type { OperatorApi } from '../api';
import { bytes, span, when } from '../format';
import { Badge, Empty, ErrorNote, Loading, usePoll } from '../ui';

function ThrottleForm({
  api,
  current,
  saved,
}: {
  api: OperatorApi;
  current: { maxConcurrentRecoveries: number; massOutageShare: number };
  saved: () => void;
}) {
  const [max, setMax] = useState(current.maxConcurrentRecoveries);
  const [share, setShare] = useState(current.massOutageShare);
  const [answer, setAnswer] = useState<{ ok: boolean; error?: unknown } | null>(null);
  useEffect(() => {
    setMax(current.maxConcurrentRecoveries);
    setShare(current.massOutageShare);
  }, [current.maxConcurrentRecoveries, current.massOutageShare]);
  const save = async () => {
    try {
      await api.setThrottle({ maxConcurrentRecoveries: max, massOutageShare: share });
      setAnswer({ ok: true });
      saved();
    } catch (error) {
      setAnswer({ ok: false, error });
    }
  };
  return (
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        Server recoveries admitted at once
        <input
          type="number"
          min={1}
          max={100000}
          step={1}
          required
          value={max}
          onInput={(e) => setMax(Number((e.target as HTMLInputElement).value))}
        />
      </label>
      <label>
        Mass-outage share (0–1)
        <input
          type="number"
          min={0}
          max={1}
          step="any"
          required
          value={share}
          onInput={(e) => setShare(Number((e.target as HTMLInputElement).value))}
        />
      </label>
      <button type="submit" class="primary">
        Save throttle
      </button>
      {answer?.ok && (
        <p class="note done" role="status">
          Saved.
        </p>
      )}
      {answer && !answer.ok && <ErrorNote error={answer.error} what="save the throttle" />}
    </form>
  );
}

export function AdmissionPage({ api }: { api: OperatorApi }) {
  const data = usePoll(() => Promise.all([api.admission(), api.breaker()]), 'admission', 2000);
  const [a, b] = data.data ?? [null, null];
  return (
    <section>
      <h1>Admission and breaker</h1>
      <ErrorNote error={data.error} what="load admission" />
      {!a && !data.error && <Loading what="admission" />}
      {a && b && (
        <>
          <dl class="facts">
            <dt>Mass-outage breaker</dt>
            <dd>
              {b.open ? <Badge tone="bad">open: no failover starts</Badge> : <Badge tone="ok">closed</Badge>} {b.unreachable} of {b.nodes}{' '}
              nodes unreachable; opens above {Math.round(b.massOutageShare * 100)}%.
            </dd>
            <dt>Recovering now</dt>
            <dd>
              {a.recovering} of at most {a.maxConcurrentRecoveries}
            </dd>
            <dt>Reports refused so far</dt>
            <dd>{a.rejectionsTotal}</dd>
          </dl>
          <h2>Admission queue</h2>
          {a.waiting.length === 0 ? (
            <Empty>No node is waiting to be admitted.</Empty>
          ) : (
            <ul>
              {a.waiting.map((w) => (
                <li key={w.nodeId}>
                  {w.nodeId}: refused {w.rejections} times, last {when(w.rejectedAt)}
                </li>
              ))}
            </ul>
          )}
          <h2>Throttle</h2>
          <ThrottleForm api={api} current={a} saved={data.reload} />
        </>
      )}
    </section>
  );
}

export function ReviewQueuePage({ api }: { api: OperatorApi }) {
  const q = usePoll(() => api.reviewQueue(), 'review-queue', 3000);
  return (
    <section>
      <h1>Review queue</h1>
      <ErrorNote error={q.error} what="load the review queue" />
      {!q.data && !q.error && <Loading what="the review queue" />}
      {q.data && q.data.reviews.length === 0 && <Empty>No volume is waiting for its owner's decision.</Empty>}
      {q.data && q.data.reviews.length > 0 && (
        <div class="table-scroll">
          <table>
            <caption>Oldest first.</caption>
            <thead>
              <tr>
                <th scope="col">Volume</th>
                <th scope="col">Customer</th>
                <th scope="col">Size</th>
                <th scope="col">Waiting since</th>
              </tr>
            </thead>
            <tbody>
              {q.data.reviews.map((r) => (
                <tr key={r.volumeId}>
                  <th scope="row">{r.volumeId}</th>
                  <td>{r.customerId}</td>
                  <td>{bytes(r.sizeBytes)}</td>
                  <td>
                    {when(r.waitingSince)} ({span(Date.now() - Date.parse(r.waitingSince))})
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
