// Mutations of a route's valid JSON body and query: each result says whether it is refused by
// construction (`why`) or may be either (`why: null`). Pure fast-check arbitraries.
import fc from 'fast-check';
import type { Body } from './cases.js';
import type { JsonSpec, QuerySpec } from './routes.js';
import { anyCount, edgeNumber, hostileCount, hostileString, wrongTypeFor } from './values.js';

export interface Mutated<T> {
  value: T;
  /** Why it must be refused, or null when it may be valid. */
  why: string | null;
}

type Obj = Record<string, unknown>;

const EXTRA_KEYS = ['fuzzExtra', 'customerId', 'isAdmin', 'epoch', '__proto__x', 'constructor'];

function without(v: Obj, key: string): Obj {
  const copy = { ...v };
  delete copy[key];
  return copy;
}

/** The mutations of `v` that the schema refuses. */
function breakingMutations(spec: JsonSpec, v: Obj): fc.Arbitrary<Mutated<Body>>[] {
  const keys = Object.keys(v);
  const out: fc.Arbitrary<Mutated<Body>>[] = [garbageText(spec)];
  const json = (value: unknown, why: string): Mutated<Body> => ({ value: { kind: 'json', value }, why });
  const required = spec.mustHave.filter((k) => k in v);
  if (required.length) out.push(fc.constantFrom(...required).map((k) => json(without(v, k), `missing ${k}`)));
  const typed = keys.filter((k) => v[k] !== null);
  if (typed.length)
    out.push(fc.constantFrom(...typed).chain((k) => wrongTypeFor(v[k]).map((bad) => json({ ...v, [k]: bad }, `${k} of the wrong type`))));
  const nonNullable = keys.filter((k) => !(spec.nullable ?? []).includes(k));
  if (nonNullable.length) out.push(fc.constantFrom(...nonNullable).map((k) => json({ ...v, [k]: null }, `${k} null`)));
  if (spec.strict)
    out.push(fc.tuple(fc.constantFrom(...EXTRA_KEYS), fc.jsonValue()).map(([k, x]) => json({ ...v, [k]: x }, `unknown field ${k}`)));
  if (spec.refused) out.push(spec.refused.map((r) => json(r.value, r.why)));
  return out;
}

/** Whole bodies that are not a JSON object: always refused by the JSON parser or the schema. */
function garbageText(spec: JsonSpec): fc.Arbitrary<Mutated<Body>> {
  const texts = ['null', '[]', '123', '"x"', '{', '{"a":', 'true', '[{}]', '\u0000', '{"a":1}}'];
  if (spec.mustHave.length) texts.push('{}', '');
  return fc
    .constantFrom(...texts)
    .map((text) => ({ value: { kind: 'text', text, contentType: 'application/json' }, why: `body ${JSON.stringify(text)}` }));
}

/** Mutations that may or may not be valid: edge numbers, hostile strings, a wrong content type. */
function looseMutations(spec: JsonSpec, v: Obj): fc.Arbitrary<Mutated<Body>>[] {
  const keys = Object.keys(v);
  const json = (value: unknown): Mutated<Body> => ({ value: { kind: 'json', value }, why: null });
  const out: fc.Arbitrary<Mutated<Body>>[] = [
    fc.constant({
      value: { kind: 'json', value: v, contentType: 'text/plain' },
      why: spec.mustHave.length ? 'JSON sent as text/plain' : null,
    }),
  ];
  const optional = keys.filter((k) => !spec.mustHave.includes(k));
  if (optional.length) out.push(fc.constantFrom(...optional).map((k) => json(without(v, k))));
  const numbers = keys.filter((k) => typeof v[k] === 'number');
  if (numbers.length) out.push(fc.tuple(fc.constantFrom(...numbers), edgeNumber).map(([k, n]) => json({ ...v, [k]: n })));
  const strings = keys.filter((k) => typeof v[k] === 'string');
  if (strings.length) out.push(fc.tuple(fc.constantFrom(...strings), hostileString).map(([k, s]) => json({ ...v, [k]: s })));
  return out;
}

/** A body for the route: valid, refused, or loosely mutated; only refused ones when `mustBreak`. */
export function jsonBody(spec: JsonSpec, mustBreak: boolean): fc.Arbitrary<Mutated<Body>> {
  return spec.valid.chain((v) => {
    const breaking = fc.oneof(...breakingMutations(spec, v));
    if (mustBreak) return breaking;
    const valid = fc.constant<Mutated<Body>>({ value: { kind: 'json', value: v }, why: null });
    return fc.oneof(
      { arbitrary: valid, weight: 5 },
      { arbitrary: breaking, weight: 3 },
      { arbitrary: fc.oneof(...looseMutations(spec, v)), weight: 2 },
    );
  });
}

const DECIMAL = /^\d+$/;

/** Encodes a query (repeated keys as arrays), each value percent-encoded. */
export function encodeQuery(entries: [string, string][]): string {
  return entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

function queryMutations(spec: QuerySpec, v: Record<string, string>): fc.Arbitrary<Mutated<[string, string][]>>[] {
  const entries = Object.entries(v);
  const out: fc.Arbitrary<Mutated<[string, string][]>>[] = [];
  const present = spec.counts.filter((k) => k in v);
  if (present.length) {
    out.push(
      fc.tuple(fc.constantFrom(...present), hostileCount).map(([k, bad]) => ({
        value: entries.map(([key, val]) => [key, key === k ? bad : val] as [string, string]),
        why: DECIMAL.test(bad) ? null : `${k}=${JSON.stringify(bad)} is not a count`,
      })),
    );
    out.push(
      fc.tuple(fc.constantFrom(...present), anyCount).map(([k, n]) => ({
        value: entries.map(([key, val]) => [key, key === k ? n : val] as [string, string]),
        why: DECIMAL.test(n) ? null : `${k}=${JSON.stringify(n)} is not a count`,
      })),
    );
    out.push(fc.constantFrom(...present).map((k) => ({ value: [...entries, [k, '1'] as [string, string]], why: `${k} given twice` })));
  }
  const required = spec.mustHave.filter((k) => k in v);
  if (required.length)
    out.push(fc.constantFrom(...required).map((k) => ({ value: entries.filter(([key]) => key !== k), why: `missing ${k}` })));
  // The query parser drops `__proto__` (qs, allowPrototypes false): the handler never sees it.
  out.push(
    fc.tuple(fc.constantFrom('x', 'admin', 'customerId', 'offset[0]', '__proto__'), fc.string({ maxLength: 8 })).map(([k, x]) => ({
      value: [...entries, [k, x] as [string, string]],
      why: spec.strict && k !== '__proto__' ? `unknown parameter ${k}` : null,
    })),
  );
  return out;
}

/** A query for the route: valid, or mutated (refused ones only when `mustBreak`). */
export function queryOf(spec: QuerySpec, mustBreak: boolean): fc.Arbitrary<Mutated<[string, string][]>> {
  return spec.valid.chain((v) => {
    const mutated = fc.oneof(...queryMutations(spec, v));
    if (mustBreak) return mutated.filter((m) => m.why !== null);
    const mutations = spec.counts.length ? 3 : 1;
    return fc.oneof(
      { arbitrary: fc.constant({ value: Object.entries(v), why: null }), weight: 10 - mutations },
      { arbitrary: mutated, weight: mutations },
    );
  });
}
