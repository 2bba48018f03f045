// Where a webhook may be delivered. A URL's host is resolved and every address it resolves to
// must be public, unless an operator allowed the host by name (WEBHOOK_ALLOW_HOSTS). A delivery
// connects to the address that was checked, never to a second resolution, so a DNS answer that
// changes between the check and the connection (rebinding) cannot redirect it.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isForbiddenAddress, urlHost } from '../common/webhooks.js';

export class WebhookTargetError extends Error {
  override name = 'WebhookTargetError';
}

export type Resolver = (host: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** The one address a delivery to `url` will connect to, after checking it may be reached. */
export async function resolveWebhookTarget(
  url: URL,
  allowHosts: ReadonlySet<string>,
  resolver: Resolver = systemResolver,
): Promise<LookupAddress> {
  const host = urlHost(url);
  const family = isIP(host);
  const addresses = family
    ? [{ address: host, family }]
    : await resolver(host).catch((err: Error) => {
        throw new WebhookTargetError(`the webhook host ${host} does not resolve: ${err.message}`);
      });
  if (addresses.length === 0) throw new WebhookTargetError(`the webhook host ${host} does not resolve`);
  if (!allowHosts.has(host)) {
    const internal = addresses.find((a) => isForbiddenAddress(a.address));
    if (internal) throw new WebhookTargetError(`the webhook host ${host} resolves to ${internal.address}, an internal address`);
  }
  return addresses[0]!;
}

/** A lookup that answers every name with the checked address: the connection goes nowhere else. */
function pinnedLookup(target: LookupAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [target]);
    else callback(null, target.address, target.family);
  }) as LookupFunction;
}

export interface Delivery {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal: AbortSignal;
  allowHosts: ReadonlySet<string>;
  resolver?: Resolver;
}

/** POSTs `body` to the checked address of `url` (Host and TLS name from the URL); resolves with the HTTP status. */
export async function postWebhook(rawUrl: string, d: Delivery): Promise<number> {
  const url = new URL(rawUrl);
  const target = await resolveWebhookTarget(url, d.allowHosts, d.resolver);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const timeout = AbortSignal.timeout(d.timeoutMs);
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...d.headers, 'content-length': String(Buffer.byteLength(d.body)) },
    lookup: pinnedLookup(target),
    signal: AbortSignal.any([d.signal, timeout]),
  };
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', (err) =>
      reject(timeout.aborted ? Object.assign(new Error(`no answer within ${d.timeoutMs} ms`), { name: 'TimeoutError' }) : err),
    );
    req.end(d.body);
  });
}
