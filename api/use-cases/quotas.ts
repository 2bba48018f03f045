// Per-customer quotas: how many volumes, how many bytes of volumes, how many snapshots. The
// operator sets them (/v1/operator/customers/{id}/quota); unset limits are the configured
// defaults. Past a limit a request is a 403 quota-exceeded naming the limit, and changes nothing.
import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import type { Db, Tx } from '../repositories/db.js';
import { customerExists } from '../repositories/customers.js';
import { getQuotaLimits, quotaUsage, setQuotaLimits, type QuotaUsage } from '../repositories/quotas.js';
import type { Deps } from './deps.js';

const Limit = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional();
export const QuotaBody = z.strictObject({ maxVolumes: Limit, maxBytes: Limit, maxSnapshots: Limit });

export interface Quota {
  maxVolumes: number;
  maxBytes: number;
  maxSnapshots: number;
}

export async function effectiveQuota(deps: Deps, db: Db | Tx, customerId: string): Promise<Quota> {
  const set = await getQuotaLimits(db, customerId);
  const d = deps.config.quotaDefaults;
  return {
    maxVolumes: set.maxVolumes ?? d.maxVolumes,
    maxBytes: set.maxBytes ?? d.maxBytes,
    maxSnapshots: set.maxSnapshots ?? d.maxSnapshots,
  };
}

/** Throws 403 unless the customer has room for `more` on top of what it holds. Call inside the transaction that adds it. */
export async function requireRoom(deps: Deps, db: Db | Tx, customerId: string, more: Partial<QuotaUsage>): Promise<void> {
  const quota = await effectiveQuota(deps, db, customerId);
  const used = await quotaUsage(db, customerId);
  const over = (what: string, have: number, add: number | undefined, limit: number) => {
    if (add && have + add > limit) {
      throw new AppError(
        403,
        'quota-exceeded',
        `this would make ${have + add} ${what}; the quota allows ${limit} (ask an operator to raise it)`,
      );
    }
  };
  over('volumes', used.volumes, more.volumes, quota.maxVolumes);
  over('bytes of volumes', used.bytes, more.bytes, quota.maxBytes);
  over('snapshots', used.snapshots, more.snapshots, quota.maxSnapshots);
}

/** A customer that exists; an id that cannot be one (a NUL byte, which Postgres text refuses) is not found. */
async function requireCustomer(deps: Deps, customerId: string): Promise<void> {
  if (!/^[\w-]{1,128}$/.test(customerId) || !(await customerExists(deps.db, customerId)))
    throw notFound(`customer ${customerId.slice(0, 200)}`);
}

export async function showQuota(deps: Deps, customerId: string) {
  await requireCustomer(deps, customerId);
  return { customerId, quota: await effectiveQuota(deps, deps.db, customerId), usage: await quotaUsage(deps.db, customerId) };
}

/** Sets the given limits; null returns one to the default, an absent one is kept. */
export async function setQuota(deps: Deps, customerId: string, body: z.infer<typeof QuotaBody>) {
  await requireCustomer(deps, customerId);
  const current = await getQuotaLimits(deps.db, customerId);
  const pick = (k: keyof typeof current) => (body[k] === undefined ? current[k] : (body[k] ?? null));
  await setQuotaLimits(deps.db, customerId, {
    maxVolumes: pick('maxVolumes'),
    maxBytes: pick('maxBytes'),
    maxSnapshots: pick('maxSnapshots'),
  });
  return showQuota(deps, customerId);
}
