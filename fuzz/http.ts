// One HTTP exchange with a deadline, on node:http so a hostile path goes out as written.
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const EARLY_ANSWER_BYTES = 8 * 1024;
const EARLY_ANSWER_WAIT_MS = 60;

export type HttpOutcome = { kind: 'answer'; answer: HttpAnswer } | { kind: 'hang' } | { kind: 'error'; message: string };

export function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const target = new URL(url);
    // The path as written: URL parsing would normalise '..' segments.
    const rawPath = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    let settled = false;
    const done = (outcome: HttpOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    let answer: HttpAnswer | null = null;
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: rawPath,
        headers: { ...headers, 'content-length': String(body?.length ?? 0) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        answer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) };
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ kind: 'answer', answer: { ...answer!, body: Buffer.concat(chunks) } }));
        res.on('error', (err) => done({ kind: 'error', message: err.message }));
      },
    );
    const timer = setTimeout(() => done({ kind: 'hang' }), timeoutMs);
    // A server may answer (a 401, a 413) before the body is sent and close: the answer counts,
    // not the EPIPE of the rest of the upload.
    req.on('error', (err) => setTimeout(() => done(answer ? { kind: 'answer', answer } : { kind: 'error', message: err.message }), 300));
    // A large body waits for an early answer first: a server that refuses from the headers
    // answers and closes, and Node's client would lose that answer to the upload's EPIPE.
    if (!body || body.length <= EARLY_ANSWER_BYTES) return void req.end(body);
    req.flushHeaders();
    setTimeout(() => (answer || settled ? req.end() : req.end(body)), EARLY_ANSWER_WAIT_MS);
  });
}

/** The one error shape: `{error:{code,message}}` with string code and message, and nothing else. */
export function errorShapeProblem(answer: HttpAnswer): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return `not JSON: ${JSON.stringify(answer.body.toString('utf8').slice(0, 120))}`;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string')
    return `not {error:{code,message}}: ${JSON.stringify(parsed).slice(0, 160)}`;
  if (Object.keys(parsed as object).length !== 1) return `extra top-level fields: ${Object.keys(parsed as object).join(',')}`;
  return null;
}

export function errorCode(answer: HttpAnswer): string | null {
  try {
    return (JSON.parse(answer.body.toString('utf8')) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    return null;
  }
}
