// A volume's snapshot policy: what it is (its next and recent runs), a form that sets or replaces
// it (an interval or a UTC cron, and how many policy snapshots to keep), and its removal.
import { useState } from 'preact/hooks';
import type { CustomerApi, SnapshotPolicy, SnapshotPolicyRequest } from '../api';
import { ApiError } from '../api';
import { span, when } from '../format';
import { ConfirmButton, ErrorNote, usePoll } from '../ui';

type Form = { kind: 'interval' | 'cron'; hours: string; cron: string; retention: string };

function describe(p: SnapshotPolicy): string {
  const schedule = p.intervalSeconds ? `every ${span(p.intervalSeconds * 1000)}` : `on cron ${p.cron} (UTC)`;
  return `Snapshots ${schedule}, keeping the newest ${p.retention ?? '?'}; next run ${when(p.nextRuns[0])}.`;
}

/** The request the form stands for, or why it cannot be sent. */
export function policyRequest(f: Form): SnapshotPolicyRequest | string {
  const retention = Number(f.retention);
  if (!Number.isInteger(retention) || retention < 1 || retention > 1000) return 'Keep between 1 and 1000 snapshots.';
  if (f.kind === 'cron') return f.cron.trim() ? { cron: f.cron.trim(), retention } : 'Write a cron expression, e.g. 0 3 * * *.';
  const hours = Number(f.hours);
  if (!(hours > 0)) return 'The interval must be a positive number of hours.';
  return { intervalSeconds: Math.round(hours * 3600), retention };
}

function formOf(p: SnapshotPolicy | null): Form {
  return {
    kind: p?.cron ? 'cron' : 'interval',
    hours: p?.intervalSeconds ? String(p.intervalSeconds / 3600) : '24',
    cron: p?.cron ?? '0 3 * * *',
    retention: String(p?.retention ?? 7),
  };
}

export function SnapshotPolicyEditor({ api, id }: { api: CustomerApi; id: string }) {
  const policy = usePoll(
    () => api.policy(id).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
    `policy-${id}`,
    10_000,
  );
  const [form, setForm] = useState<Form | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const f = form ?? formOf(policy.data);
  const edit = (change: Partial<Form>) => setForm({ ...f, ...change });
  const save = async () => {
    setError(null);
    setSaved(null);
    const request = policyRequest(f);
    if (typeof request === 'string') return setError(new ApiError(400, 'invalid-form', request));
    try {
      setSaved(`Saved. ${describe(await api.setPolicy(id, request))}`);
      setForm(null);
      policy.reload();
    } catch (e) {
      setError(e);
    }
  };
  const p = policy.data;
  return (
    <section aria-labelledby="policy">
      <h3 id="policy">Snapshot policy</h3>
      <ErrorNote error={policy.error} what="load the snapshot policy" />
      <p>{p ? describe(p) : 'No snapshot policy: snapshots are taken only when you ask.'}</p>
      {p && p.recentRuns.length > 0 && <p>Last run {when(p.recentRuns[p.recentRuns.length - 1]!.at)}.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <fieldset>
          <legend>Take a snapshot</legend>
          <label class="inline">
            <input type="radio" name={`kind-${id}`} checked={f.kind === 'interval'} onChange={() => edit({ kind: 'interval' })} />
            at an interval
          </label>
          <label class="inline">
            <input type="radio" name={`kind-${id}`} checked={f.kind === 'cron'} onChange={() => edit({ kind: 'cron' })} />
            on a cron schedule (UTC)
          </label>
          <div class="row">
            {f.kind === 'interval' ? (
              <label>
                Every (hours)
                <input type="number" min="0.1" step="any" value={f.hours} onInput={(e) => edit({ hours: e.currentTarget.value })} />
              </label>
            ) : (
              <label>
                Cron expression
                <input type="text" value={f.cron} onInput={(e) => edit({ cron: e.currentTarget.value })} />
              </label>
            )}
            <label>
              Snapshots to keep
              <input type="number" min="1" max="1000" value={f.retention} onInput={(e) => edit({ retention: e.currentTarget.value })} />
            </label>
            <button type="submit" class="primary">
              {p ? 'Replace policy' : 'Set policy'}
            </button>
          </div>
        </fieldset>
      </form>
      <ErrorNote error={error} what="save the policy" />
      {saved && (
        <p class="note done" role="status">
          {saved}
        </p>
      )}
      {/* Stays mounted once the policy is gone, so the answer to the removal stays on screen. */}
      <ConfirmButton
        label="Remove policy"
        title="Remove the snapshot policy?"
        explain="No more snapshots are taken on a schedule. The snapshots the policy took are kept until you delete them."
        disabledReason={p ? null : 'There is no policy to remove.'}
        run={async () => {
          await api.deletePolicy(id);
          policy.reload();
          return 'The policy is removed; its snapshots are kept.';
        }}
      />
    </section>
  );
}
