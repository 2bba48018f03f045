// The APIs the console talks to, and the move between them: the rules of the node agent's,
// attach's and the CLI's client (common/api-endpoints.ts, ApiEndpoints), in the browser. The API
// that served the page lists the others in <meta name="blackstart-api-urls"> (its
// CONSOLE_API_URLS, api/routes/console.ts); without that list the console talks to it alone.
import { IDEMPOTENT_METHODS } from '../../common/idempotent-methods.js';

/** Why a request got no answer: no API answered, or the one that stopped mid-request was not asked again. */
export class NoAnswer extends Error {
  constructor(readonly reason: 'every-api' | 'not-repeated') {
    super(reason === 'every-api' ? 'no API answered' : 'the API stopped answering; the request was not sent again');
    this.name = 'NoAnswer';
  }
}

export type Send = (url: string, init: RequestInit) => Promise<Response>;

/** Whether a request of this method may be sent to another API after the first stopped answering mid-request. */
export function idempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase());
}

export class ConsoleEndpoints {
  readonly bases: string[];
  private current: number;

  /** `listed`: the base URLs the serving API gave; `own`: the origin that served the page, tried first. */
  constructor(
    listed: string[],
    own: string,
    private readonly send: Send = (url, init) => fetch(url, init),
  ) {
    const bases = listed.map((url) => url.replace(/\/+$/, ''));
    const at = bases.findIndex((url) => originOf(url) === originOf(own));
    this.bases = at >= 0 ? bases : [own, ...bases];
    this.current = Math.max(at, 0);
  }

  /** The API answering now (the last one that did). */
  get base(): string {
    return this.bases[this.current]!;
  }

  /**
   * Sends to the current API, moving on to the next when it does not answer (fetch rejects: the
   * connection was refused or broke). A browser cannot tell a refused connection from one that
   * broke after the request was sent, so only a `repeatable` request is sent again; any other
   * fails with `not-repeated`, and the next request goes to the next API.
   */
  async fetch(path: string, init: RequestInit, repeatable: boolean): Promise<Response> {
    for (let tried = 0; tried < this.bases.length; tried++) {
      const at = this.current;
      try {
        return await this.send(`${this.bases[at]}${path}`, init);
      } catch {
        // Several requests may fail on the same API at once: only the first moves on.
        if (this.current === at) this.current = (at + 1) % this.bases.length;
        if (!repeatable && this.bases.length > 1) throw new NoAnswer('not-repeated');
      }
    }
    throw new NoAnswer('every-api');
  }
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

let shared: ConsoleEndpoints | undefined;

/** The console's endpoints, shared by every page: the serving API's list, this page's origin first. */
export function consoleEndpoints(): ConsoleEndpoints {
  shared ??= new ConsoleEndpoints(listedUrls(), location.origin);
  return shared;
}

function listedUrls(): string[] {
  const content = document.querySelector('meta[name="blackstart-api-urls"]')?.getAttribute('content') ?? '';
  return content.split(/[\s,]+/).filter(Boolean);
}
