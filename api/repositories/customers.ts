// Customers and their API keys; only a key's SHA-256 is stored.
import { sha256Hex } from '../../common/tokens.js';
import type { Db } from './db.js';

export async function createCustomer(db: Db, id: string, name: string, apiKey: string): Promise<void> {
  await db.query('insert into customers (id, name) values ($1, $2)', [id, name]);
  await db.query('insert into api_keys (key_hash, customer_id) values ($1, $2)', [sha256Hex(apiKey), id]);
}

export async function customerForKey(db: Db, apiKey: string): Promise<string | null> {
  const { rows } = await db.query('select customer_id from api_keys where key_hash = $1', [sha256Hex(apiKey)]);
  return (rows[0]?.customer_id as string | undefined) ?? null;
}

export async function customerExists(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('select 1 from customers where id = $1', [id]);
  return rowCount === 1;
}
