// Cross-origin answers for the web console: a console opened from one API process moves to the
// others when its API stops answering (console/src/endpoints.ts), and a browser lets it read their
// answers only when they name its origin. Only the origins of CONSOLE_API_URLS are named, never `*`.
import type { RequestHandler } from 'express';

const METHODS = 'GET, HEAD, PUT, POST, PATCH, DELETE';
const HEADERS = 'authorization, content-type';
const PREFLIGHT_CACHE_SECONDS = '600';

export function consoleCors(apiUrls: readonly string[]): RequestHandler {
  const origins = new Set(apiUrls.map((url) => new URL(url).origin));
  return (req, res, next) => {
    if (origins.size === 0) return next();
    res.vary('Origin');
    const origin = req.headers.origin;
    if (!origin || !origins.has(origin)) return next();
    res.setHeader('access-control-allow-origin', origin);
    if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return next();
    // The preflight for the Authorization header (and JSON bodies): answered before any route's auth.
    res.setHeader('access-control-allow-methods', METHODS);
    res.setHeader('access-control-allow-headers', HEADERS);
    res.setHeader('access-control-max-age', PREFLIGHT_CACHE_SECONDS);
    res.status(204).end();
  };
}
