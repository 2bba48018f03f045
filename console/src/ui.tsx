// Shared pieces: polling, errors and empty states for people, a progress bar, a confirmation
// dialog (native <dialog>: focus is trapped and Escape closes it), badges.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  reload: () => void;
}

/** Loads now and every `everyMs` while `active` (pages poll while a recovery runs). */
export function usePoll<T>(load: () => Promise<T>, key: string, everyMs: number | null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(null)),
      (e: unknown) => live && setError(e),
    );
    return () => void (live = false);
  }, [key, tick]);
  useEffect(() => {
    if (!everyMs) return;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload]);
  return { data, error, reload };
}

export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong in the console. Reload the page and try again.';
  if (error.status === 401) return 'Your key or token was not accepted. Sign out and sign in again with a valid one.';
  if (error.status === 404) return `Not found: ${error.message}. It may have been deleted, or it belongs to someone else.`;
  if (error.status === 409) return `Not possible right now: ${error.message}`;
  if (error.status === 429 || error.status === 503) return `The service is busy: ${error.message}. Try again in a few seconds.`;
  if (error.status === 0) return error.message;
  return `${error.message} (${error.code})`;
}

export function ErrorNote({ error, what }: { error: unknown; what?: string }) {
  if (!error) return null;
  return (
    <p class="note error" role="alert">
      {what ? `Could not ${what}. ` : ''}
      {explain(error)}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="note empty">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="note" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Bar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.round((100 * value) / max) : 0;
  return (
    <div class="bar-wrap">
      <span>
        {label}: {value} of {max}
      </span>
      <div class="bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
        <div class="bar-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** A button that asks first: the dialog says what will happen; the answer or the refusal is shown after. */
export function ConfirmButton(props: {
  label: string;
  title: string;
  explain: string;
  disabledReason?: string | null;
  run: () => Promise<string>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);
  const go = async () => {
    dialog.current?.close();
    setBusy(true);
    setAnswer(null);
    try {
      setAnswer({ ok: true, text: await props.run() });
    } catch (err) {
      setAnswer({ ok: false, text: explain(err) });
    } finally {
      setBusy(false);
    }
  };
  const id = `why-${props.label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="decision">
      <button
        type="button"
        disabled={!!props.disabledReason || busy}
        aria-describedby={props.disabledReason ? id : undefined}
        onClick={() => dialog.current?.showModal()}
      >
        {busy ? `${props.label}…` : props.label}
      </button>
      {props.disabledReason && (
        <small id={id} class="why">
          {props.disabledReason}
        </small>
      )}
      {answer && (
        <p class={`note ${answer.ok ? 'done' : 'error'}`} role="status">
          {answer.text}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>{props.title}</h2>
        <p>{props.explain}</p>
        <div class="row">
          <button type="button" class="primary" onClick={() => void go()}>
            {props.label}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </div>
  );
}
