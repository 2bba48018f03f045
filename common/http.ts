// A small JSON-over-HTTP client used by activities, the API, storage nodes and the CLI.

/** A non-2xx answer, carrying the peer's `{error:{code,message}}` when it sent one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RequestOptions {
  method?: string;
  token?: string;
  body?: unknown;
  raw?: Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined;
  if (opts.raw) {
    headers['content-type'] = 'application/octet-stream';
    body = opts.raw as unknown as BodyInit; // a Buffer is a valid fetch body at run time
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const signals = [opts.signal, opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers,
    body,
    signal: signals.length ? AbortSignal.any(signals) : undefined,
  });
  if (!res.ok) throw await toHttpError(res);
  return res;
}

export async function requestJson<T>(url: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(url, opts);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export async function requestBytes(url: string, opts: RequestOptions = {}): Promise<Buffer> {
  const res = await request(url, opts);
  return Buffer.from(await res.arrayBuffer());
}

async function toHttpError(res: Response): Promise<HttpError> {
  const retryAfter = res.headers.get('retry-after');
  return httpErrorFrom(res.status, res.statusText, await res.text(), retryAfter ? Number(retryAfter) : undefined);
}

/** The HttpError for a non-2xx answer: the peer's `{error:{code,message}}` when it sent one. */
export function httpErrorFrom(status: number, statusText: string, text: string, retryAfterSeconds?: number): HttpError {
  let code = `http-${status}`;
  let message = text.slice(0, 500) || statusText;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = parsed.error?.code ?? code;
    message = parsed.error?.message ?? message;
  } catch {
    // not JSON: keep the text
  }
  return new HttpError(status, code, message, retryAfterSeconds);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/** Full jitter: a uniformly random wait in [base/2, base*2^attempt] capped at `max`. */
export function jitteredBackoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return baseMs / 2 + Math.random() * Math.max(0, ceiling - baseMs / 2);
}
