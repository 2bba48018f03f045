// Review: the restored copy read through a review grant while I/O stays held — a hex and text
// view of any range, and a download of a range or the whole image.
import { useState } from 'preact/hooks';
import type { CustomerApi } from '../api';
import { bytes as fmtBytes } from '../format';
import { ErrorNote, usePoll } from '../ui';

const VIEW_MAX = 64 * 1024;
const CHUNK = 4 * 1024 * 1024;

function hexLines(data: Uint8Array, base: number): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 16) {
    const row = data.subarray(i, i + 16);
    const hex = [...row]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join(' ')
      .padEnd(47, ' ');
    const text = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(base + i).toString(16).padStart(10, '0')}  ${hex}  |${text}|`);
  }
  return lines.join('\n');
}

async function readRange(api: CustomerApi, id: string, offset: number, length: number, progress: (done: number) => void): Promise<Blob> {
  const parts: Uint8Array[] = [];
  for (let at = offset; at < offset + length; at += CHUNK) {
    parts.push(await api.reviewRead(id, at, Math.min(CHUNK, offset + length - at)));
    progress(at + CHUNK - offset);
  }
  return new Blob(parts as BlobPart[], { type: 'application/octet-stream' });
}

function save(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export function ReviewPage({ api, id }: { api: CustomerApi; id: string }) {
  const volume = usePoll(() => api.volume(id), `review-vol-${id}`, null);
  const [offset, setOffset] = useState(0);
  const [length, setLength] = useState(512);
  const [view, setView] = useState<{ offset: number; text: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const size = volume.data?.sizeBytes ?? 0;
  const show = async () => {
    setError(null);
    setBusy('Reading…');
    try {
      const len = Math.min(length, VIEW_MAX, Math.max(0, size - offset));
      setView({ offset, text: hexLines(await api.reviewRead(id, offset, len), offset) });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  const download = async (from: number, len: number, name: string) => {
    setError(null);
    try {
      save(
        await readRange(api, id, from, len, (done) => setBusy(`Downloading ${fmtBytes(Math.min(done, len))} of ${fmtBytes(len)}…`)),
        name,
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section>
      <h1>Review {id}</h1>
      <p>
        <a href={`#/volumes/${id}`}>← Back to the volume</a>
      </p>
      <p>You read the restored copy read-only, through a review grant; the volume's I/O stays held until you decide.</p>
      <ErrorNote error={volume.error} what="load the volume" />
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void show();
        }}
      >
        <label>
          Offset (bytes)
          <input
            type="number"
            min={0}
            max={Math.max(0, size - 1)}
            step={1}
            value={offset}
            onInput={(e) => setOffset(Number((e.target as HTMLInputElement).value))}
          />
        </label>
        <label>
          Length (bytes, at most 64 KiB shown)
          <input
            type="number"
            min={1}
            max={VIEW_MAX}
            step={1}
            value={length}
            onInput={(e) => setLength(Number((e.target as HTMLInputElement).value))}
          />
        </label>
        <button type="submit" class="primary" disabled={!!busy}>
          Show
        </button>
        <button
          type="button"
          disabled={!!busy}
          onClick={() => void download(offset, Math.min(length, size - offset), `${id}-${offset}-${length}.bin`)}
        >
          Download range
        </button>
        <button type="button" disabled={!!busy || !size} onClick={() => void download(0, size, `${id}.img`)}>
          Download whole image ({fmtBytes(size)})
        </button>
      </form>
      {busy && (
        <p class="note" role="status">
          {busy}
        </p>
      )}
      <ErrorNote error={error} what="read the restored copy" />
      {view && (
        <pre class="hex" aria-label={`Bytes from offset ${view.offset}`} tabIndex={0}>
          {view.text}
        </pre>
      )}
    </section>
  );
}
