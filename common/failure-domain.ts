import type { FailureDomain } from './types.js';

const LEVELS = ['dc', 'zone', 'router', 'power', 'host'] as const;
const SEGMENT = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Parses `dc/zone/router/power/host`; throws on anything else. */
export function parseDomainPath(path: string): FailureDomain {
  const parts = path.split('/');
  if (parts.length !== LEVELS.length || !parts.every((p) => SEGMENT.test(p))) {
    throw new Error(`failure-domain path must be dc/zone/router/power/host of [a-z0-9-], got "${path}"`);
  }
  const [dc, zone, router, power, host] = parts as [string, string, string, string, string];
  return { dc, zone, router, power, host };
}

export function formatDomainPath(d: FailureDomain): string {
  return LEVELS.map((l) => d[l]).join('/');
}

export type DomainLevel = (typeof LEVELS)[number];

/** True when `d` lies inside the domain named by `level`=`name` (e.g. power=p1). */
export function inDomain(d: FailureDomain, level: DomainLevel, name: string): boolean {
  return d[level] === name;
}
