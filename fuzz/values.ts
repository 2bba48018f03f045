// The hostile values the generator draws from: ids, strings, numbers, query values, internal
// webhook URLs and tight schedules. Pure fast-check arbitraries.
import fc from 'fast-check';

/** Path segments as sent (already percent-encoded where needed): traversal, NUL, control bytes, unicode, length. */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..%2F',
    '..%2F..%2Fetc%2Fpasswd',
    '%2E%2E',
    '.%2E',
    '%00',
    'vol-%00',
    '%2F',
    '%5C..%5C',
    'vol-1%2F..%2F..',
    '%25',
    '%FF%FE',
    'vol-\u00e9'.replace('\u00e9', '%C3%A9'),
    encodeURIComponent('💥'),
    '%20',
    "'%20or%201%3D1--",
    '%3Cscript%3E',
    'null',
    'undefined',
    '0',
    '-1',
    'NaN',
    'constructor',
    '__proto__',
    'snap-',
    'vol-',
    '*',
    '%E2%80%AE',
    encodeURIComponent('\u202e\u0000'),
  ),
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
  fc.integer({ min: 300, max: 9000 }).map((n) => 'a'.repeat(n)),
);

/** Strings for string fields: empty, long, unicode, control characters, hostile text. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '../../etc/passwd', '%00', 'DROP TABLE volumes;', '\u202e', '💥'.repeat(50), '\ud800', 'null', '{}'),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);

/** Numbers at and past every edge: negative, fractional, huge, unsafe, -0. */
export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1.5,
    4095,
    4097,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    1e21,
    1e308,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_VALUE,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** A value of some JSON type, for replacing a field with the wrong type. */
export function wrongTypeFor(valid: unknown): fc.Arbitrary<unknown> {
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: hostileString,
    number: edgeNumber,
    boolean: fc.boolean(),
    object: fc.constantFrom({}, { a: 1 }, { __proto__: { admin: true } }),
    array: fc.constantFrom([], [1], ['x'], [null]),
  };
  const kind = valid === null ? 'null' : Array.isArray(valid) ? 'array' : typeof valid;
  return fc.oneof(
    ...Object.entries(all)
      .filter(([k]) => k !== kind)
      .map(([, a]) => a),
  );
}

/** A query value that is not a plain decimal integer, or one past every bound. */
export const hostileCount: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '-1',
    '0.5',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    ' 1',
    '1 ',
    '+1',
    '99999999999999999999',
    '9007199254740993',
    '%00',
    'abc',
    '٣',
  ),
  fc.integer().map(String),
);

/** A query value that may be valid or not. */
export const anyCount: fc.Arbitrary<string> = fc.oneof(
  hostileCount,
  fc.nat({ max: 1 << 22 }).map(String),
  fc.constantFrom('0', '1', '4096'),
);

/** Webhook URLs that point inside: loopback, link-local, private, unspecified, or not http(s). */
export const internalUrl: fc.Arbitrary<string> = fc.constantFrom(
  'http://127.0.0.1/',
  'http://127.0.0.1:5432/',
  'http://169.254.169.254/latest/meta-data/',
  'http://[::1]/',
  'http://0/',
  'http://0.0.0.0/',
  'http://10.0.0.1/hook',
  'http://10.255.255.255/',
  'http://192.168.1.1/',
  'http://172.16.0.1/',
  'http://localhost:8080/',
  'http://[::ffff:127.0.0.1]/',
  'http://2130706433/',
  'http://0x7f000001/',
  'http://127.1/',
  'http://[fe80::1]/',
  'http://100.64.0.1/',
  'file:///etc/passwd',
  'gopher://127.0.0.1/',
  'http://169.254.169.254.nip.io/',
  'ftp://example.com/',
);

/** Webhook URLs that are fine (nothing listens there from this machine). */
export const externalUrl: fc.Arbitrary<string> = fc.constantFrom('https://example.com/hooks/blackstart', 'https://hooks.example.org/x?y=1');

/** Schedules tighter than any sane minimum. */
export const tightCron: fc.Arbitrary<string> = fc.constantFrom(
  '@every 1s',
  '@every 10s',
  '@every 1m',
  '@every 299s',
  '* * * * *',
  '*/1 * * * *',
  '*/2 * * * *',
  '0-59 * * * *',
  '* * * * * *',
  '@every 0s',
  '@every -1s',
  '0,1,2,3,4 * * * *',
  '0 * * * *,* * * * *',
);

/** Schedules that run at most yearly: valid, and never due during a run. */
export const rareCron: fc.Arbitrary<string> = fc.constantFrom('0 3 1 1 *', '15 4 2 2 *', '0 0 29 2 *');

/** Cron strings that are simply malformed. */
export const badCron: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'x', '61 * * * *', '* * 32 * *', '@reboot', '@every', '@every 1y'),
  hostileString,
);
