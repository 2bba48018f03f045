// Webhook settings (the signing secret shown once) and the event feed of every volume.
import { useState } from 'preact/hooks';
import type { CustomerApi, WebhookView } from '../api';
import { ApiError } from '../api';
import { when } from '../format';
import { ConfirmButton, Empty, ErrorNote, Loading, usePoll } from '../ui';

export function WebhookPage({ api }: { api: CustomerApi }) {
  const hook = usePoll(
    () =>
      api
        .webhook()
        .catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))) as Promise<WebhookView | null>,
    'webhook',
    5000,
  );
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const save = async () => {
    setError(null);
    try {
      setSecret((await api.setWebhook(url)).secret);
      hook.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <h1>Webhook</h1>
      <p>
        Blackstart POSTs each change to your volumes' events to this URL, signed with HMAC-SHA256 (header{' '}
        <code>x-blackstart-signature</code>).
      </p>
      <ErrorNote error={hook.error} what="load the webhook" />
      {hook.data === null && !hook.error && <Empty>No webhook is set: events are only in the feed.</Empty>}
      {hook.data && (
        <dl class="facts">
          <dt>URL</dt>
          <dd>{hook.data.url}</dd>
          <dt>Since</dt>
          <dd>{when(hook.data.createdAt)}</dd>
          <dt>Deliveries</dt>
          <dd>
            {hook.data.deliveries.delivered} delivered, {hook.data.deliveries.pending} pending, {hook.data.deliveries.failed} given up
          </dd>
        </dl>
      )}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Webhook URL
          <input
            type="url"
            required
            placeholder="https://example.com/hooks/blackstart"
            value={url}
            onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary">
          {hook.data ? 'Replace and rotate the secret' : 'Set webhook'}
        </button>
      </form>
      <ErrorNote error={error} what="set the webhook" />
      {secret && (
        <p class="note done" role="status">
          Signing secret (shown only now; keep it): <code>{secret}</code>
        </p>
      )}
      {hook.data && (
        <ConfirmButton
          label="Delete webhook"
          title="Delete the webhook?"
          explain="Deliveries stop, and the ones not yet made are dropped. The event feed keeps every event."
          run={async () => {
            await api.deleteWebhook();
            hook.reload();
            return 'Webhook deleted.';
          }}
        />
      )}
    </section>
  );
}

export function EventsPage({ api }: { api: CustomerApi }) {
  const feed = usePoll(() => api.events(0), 'events', 3000);
  const events = feed.data ? [...feed.data.events].reverse() : null;
  return (
    <section>
      <h1>Events</h1>
      <ErrorNote error={feed.error} what="load the event feed" />
      {!events && !feed.error && <Loading what="events" />}
      {events && events.length === 0 && (
        <Empty>No events yet. Recoveries, failovers, decisions and rebuilds of your volumes appear here.</Empty>
      )}
      {events && events.length > 0 && (
        <ol class="timeline">
          {events.map((e) => (
            <li key={e.eventId}>
              <strong>{e.description}</strong> on <a href={`#/volumes/${e.volumeId}`}>{e.volumeId}</a>
              <br />
              <small>
                {e.code} · {when(e.startedAt)}
                {e.endedAt ? ` → ${when(e.endedAt)}` : ' (open)'}
              </small>
              {e.proof && <p class="proof">Proof: {e.proof}</p>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
