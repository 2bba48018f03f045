// Several API processes behind one client: the node agent, `blackstart attach` and the CLI keep
// a list of API URLs and move to the next when the current one stops answering (the web console
// does the same in the browser: console/src/endpoints.ts).
import { HttpError, request, type RequestOptions } from './http.js';
import { IDEMPOTENT_METHODS } from './idempotent-methods.js';

/** Connection errors that prove the request never reached an API: safe to send anywhere else. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);

/** Parses "http://a:8080,http://b:8080" (comma or whitespace separated) into distinct base URLs; a bad one is a clear error. */
export function parseApiUrls(value: string): string[] {
  const urls = value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((raw) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new Error(`not an API URL: ${JSON.stringify(raw)}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`an API URL must be http or https: ${raw}`);
      return raw.replace(/\/+$/, '');
    });
  if (urls.length === 0) throw new Error('no API URL given');
  return [...new Set(urls)];
}

/** Whether an error means the API did not answer at all (as opposed to an HTTP answer). */
export function isUnanswered(err: unknown): boolean {
  return !(err instanceof HttpError) && !(err instanceof Error && err.name === 'AbortError');
}

function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return NEVER_SENT.has(cause?.code ?? '');
}

export class ApiEndpoints {
  private current = 0;
  readonly urls: string[];

  constructor(urls: string | string[]) {
    this.urls = typeof urls === 'string' ? parseApiUrls(urls) : parseApiUrls(urls.join(','));
  }

  /** The API answering now (the last one that did). */
  get url(): string {
    return this.urls[this.current]!;
  }

  /**
   * Sends to the current API, moving on to the next when it does not answer. A request that may
   * have reached a dying API is repeated elsewhere only when repeating it is harmless (an
   * idempotent method, or a connection refused before anything was sent); otherwise its error
   * is thrown, and the caller's next request goes to the next API.
   */
  async request(path: string, opts: RequestOptions = {}): Promise<Response> {
    const method = (opts.method ?? 'GET').toUpperCase();
    let lastError: unknown;
    for (let tried = 0; tried < this.urls.length; tried++) {
      const at = this.current;
      try {
        return await request(`${this.urls[at]}${path}`, opts);
      } catch (err) {
        if (!isUnanswered(err) || opts.signal?.aborted) throw err;
        lastError = err;
        if (this.current === at) this.current = (at + 1) % this.urls.length;
        if (!IDEMPOTENT_METHODS.has(method) && !neverSent(err)) throw err;
      }
    }
    throw lastError;
  }

  async requestJson<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(path, opts);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  async requestBytes(path: string, opts: RequestOptions = {}): Promise<Buffer> {
    const res = await this.request(path, opts);
    return Buffer.from(await res.arrayBuffer());
  }
}
