#!/usr/bin/env node
// `blackstart …`: operate a Blackstart cluster from the shell. See README.md for the commands.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { requestJson } from '../common/http.js';
import { joinToken } from '../common/tokens.js';
import { BlackstartClient } from './client.js';
import { runAttach } from './attach-command.js';
import { EXIT_UNKNOWN, runHealth } from './health-command.js';

const USAGE = `usage: blackstart <command> [options]
  customer create --name NAME                    create a customer; prints its API key
  volume create (--size BYTES[KiB|MiB|GiB] | --from-snapshot SNAPSHOT_ID) [--auto-enable-io]
  volume list | volume get ID | volume status ID | volume delete ID
  volume enable-io ID | volume auto-enable-io ID true|false
  archive ID | transfer ID                       decide for a volume awaiting review (see volume status)
  write ID --offset N (--data TEXT | --file PATH)
  read ID --offset N --length N [--out PATH]
  review ID --offset N --length N [--out PATH]  read the restored copy while I/O is held
  attach ID [--socket PATH | --port N [--bind HOST]] [--review] [--ca PATH]
                                                 an NBD endpoint for the volume on this host, following its
                                                 primary (--review: the restored copy, read-only); runs until Ctrl-C.
                                                 The socket is yours alone; on --port, the URI printed holds a secret export name.
                                                 --ca (or BLACKSTART_CA): the cluster CA; the nodes are then reached over TLS only
  snapshot create VOLUME_ID | snapshot list VOLUME_ID | snapshot show SNAPSHOT_ID | snapshot delete SNAPSHOT_ID
  snapshot-policy set VOLUME_ID (--every SECONDS | --cron EXPR) --retention N
  snapshot-policy show VOLUME_ID | snapshot-policy delete VOLUME_ID
  power-fail --node ID | --host H | --power P | --router R | --zone Z | --dc D   (SIGKILL)
  restore    --node ID | --host H | --power P | --router R | --zone Z | --dc D
  webhook set URL | webhook show | webhook delete   notifications of your volumes' events (set prints the signing secret)
  events [--after N] [--limit N]                 your volumes' events, oldest first; pass "next" as --after for more
  fleet | recoveries
  health [--json] [--stuck-after SECONDS]        the fleet at a glance, like \`ceph -s\`: HEALTH_OK, or HEALTH_WARN /
                                                 HEALTH_ERR and one line per reason with its count (--json: the raw
                                                 answer; --stuck-after: a server recovery open longer is stuck,
                                                 default HEALTH_STUCK_RECOVERY_MS of the API). Exit code: 0 ok,
                                                 1 warn, 2 error, 3 unknown (the API did not answer or refused)
  join-token                                     the token storage nodes register with (from CLUSTER_SECRET)
environment: BLACKSTART_HOME (default .blackstart), BLACKSTART_API_KEY (customer commands),
  BLACKSTART_API_URL (one URL, or several comma-separated: requests move on when one stops answering)
  and BLACKSTART_OPERATOR_TOKEN (default: read from the cluster in BLACKSTART_HOME),
  BLACKSTART_CA (attach; default without BLACKSTART_API_URL: the local cluster's BLACKSTART_HOME/certs/ca.pem if its nodes speak TLS)`;

function fail(message: string, code = 2): never {
  console.error(`blackstart: ${message}`);
  process.exit(code);
}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        size: { type: 'string' },
        'auto-enable-io': { type: 'boolean' },
        'from-snapshot': { type: 'string' },
        offset: { type: 'string' },
        length: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'string' },
        data: { type: 'string' },
        file: { type: 'string' },
        out: { type: 'string' },
        every: { type: 'string' },
        cron: { type: 'string' },
        retention: { type: 'string' },
        node: { type: 'string' },
        host: { type: 'string' },
        power: { type: 'string' },
        router: { type: 'string' },
        zone: { type: 'string' },
        dc: { type: 'string' },
        socket: { type: 'string' },
        port: { type: 'string' },
        bind: { type: 'string' },
        review: { type: 'boolean' },
        ca: { type: 'string' },
        json: { type: 'boolean' },
        'stuck-after': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // a monitor reads `health`'s exit code: 2 would say "error", not "bad command line"
    fail(`${(err as Error).message}\n${USAGE}`, process.argv[2] === 'health' ? EXIT_UNKNOWN : 2);
  }
}

const { values, positionals } = parseCommandLine();

const home = () => resolve(process.env.BLACKSTART_HOME ?? '.blackstart');

function cluster(): { apiPort?: number; apiPorts?: number[]; operatorToken?: string; controlPort?: number; nbdTls?: string } {
  try {
    return JSON.parse(readFileSync(join(home(), 'cluster.json'), 'utf8'));
  } catch {
    return {};
  }
}

/** The cluster CA for attach: --ca, BLACKSTART_CA, or the local cluster's (`npm start`) when its nodes speak TLS and its API is the one used. */
function nodeCa(): Buffer | undefined {
  const local = join(home(), 'certs', 'ca.pem');
  const localTls = !process.env.BLACKSTART_API_URL && (cluster().nbdTls ?? 'off') !== 'off' && existsSync(local);
  const path = values.ca ?? process.env.BLACKSTART_CA ?? (localTls ? local : undefined);
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    fail(`cannot read the cluster CA ${path}: ${(err as Error).message}`);
  }
}

function int(name: 'offset' | 'length' | 'after' | 'limit', fallback?: number): number {
  const text = values[name];
  if (text === undefined && fallback !== undefined) return fallback;
  if (!text || !/^\d+$/.test(text)) fail(`--${name} must be a non-negative integer`);
  return Number(text);
}

function positive(name: 'every' | 'retention'): number {
  const text = values[name];
  if (!text || !/^[1-9]\d*$/.test(text)) fail(`--${name} must be a positive integer`);
  return Number(text);
}

/** A snapshot policy's schedule: exactly one of --every SECONDS and --cron EXPR, and --retention N. */
function policy(): { intervalSeconds?: number; cron?: string; retention: number } {
  if ((values.every === undefined) === (values.cron === undefined)) fail('give exactly one of --every SECONDS and --cron EXPR');
  const retention = positive('retention');
  return values.cron !== undefined ? { cron: values.cron, retention } : { intervalSeconds: positive('every'), retention };
}

function bool(text: string | undefined): boolean {
  if (text !== 'true' && text !== 'false') fail('auto-enable-io takes true or false');
  return text === 'true';
}

function parseSize(text: string | undefined): number {
  const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(text ?? '');
  if (!m) fail('--size must be a number of bytes, optionally with KiB, MiB or GiB');
  return Number(m[1]) * { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, '': 1 }[m[2] ?? '']!;
}

function domainTarget(): { level: string; name: string } {
  for (const level of ['node', 'host', 'power', 'router', 'zone', 'dc'] as const) {
    if (values[level]) return { level, name: values[level]! };
  }
  fail('name a --node, --host, --power, --router, --zone or --dc');
}

function output(data: Buffer): void {
  if (values.out) writeFileSync(values.out, data);
  else process.stdout.write(data);
}

async function main(): Promise<void> {
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) return void console.log(USAGE);
  const c = cluster();
  const apiUrl = process.env.BLACKSTART_API_URL ?? (c.apiPorts ?? [c.apiPort ?? 8080]).map((port) => `http://127.0.0.1:${port}`).join(',');
  const operator = new BlackstartClient(apiUrl, process.env.BLACKSTART_OPERATOR_TOKEN ?? c.operatorToken ?? '');
  const customer = () =>
    new BlackstartClient(apiUrl, process.env.BLACKSTART_API_KEY ?? fail('set BLACKSTART_API_KEY to a customer API key'));
  const show = (value: unknown) => console.log(JSON.stringify(value, null, 2));
  const id = (value: string | undefined) => value ?? fail('name a volume id');
  const sid = (value: string | undefined) => value ?? fail('name a snapshot id');

  switch (`${command} ${['volume', 'customer', 'webhook', 'snapshot', 'snapshot-policy'].includes(command) ? sub : ''}`.trim()) {
    case 'customer create':
      return show(await operator.createCustomer(values.name ?? fail('--name is required')));
    case 'volume create': {
      const autoEnableIo = values['auto-enable-io'] ?? false;
      const from = values['from-snapshot'];
      if (from !== undefined && values.size !== undefined)
        fail('give --size or --from-snapshot, not both (a volume from a snapshot has its size)');
      if (from !== undefined) return show(await customer().createVolumeFromSnapshot(sid(from || undefined), autoEnableIo));
      if (values.size === undefined) fail('give --size BYTES or --from-snapshot SNAPSHOT_ID');
      return show(await customer().createVolume(parseSize(values.size), autoEnableIo));
    }
    case 'volume list':
      return show(await customer().listVolumes());
    case 'volume get':
      return show(await customer().volume(id(rest[0])));
    case 'volume status':
      return show(await customer().status(id(rest[0])));
    case 'volume delete':
      return show(await customer().deleteVolume(id(rest[0])));
    case 'volume enable-io':
      return show(await customer().enableIo(id(rest[0])));
    case 'volume auto-enable-io':
      return show(await customer().setAutoEnableIo(id(rest[0]), bool(rest[1])));
    case 'archive':
      return show(await customer().archive(id(sub)));
    case 'transfer':
      return show(await customer().transfer(id(sub)));
    case 'snapshot create':
      return show(await customer().createSnapshot(id(rest[0])));
    case 'snapshot list':
      return show(await customer().snapshots(id(rest[0])));
    case 'snapshot show':
      return show(await customer().snapshot(sid(rest[0])));
    case 'snapshot delete':
      return show(await customer().deleteSnapshot(sid(rest[0])));
    case 'snapshot-policy set': {
      const volumeId = id(rest[0]);
      return show(await customer().setSnapshotPolicy(volumeId, policy()));
    }
    case 'snapshot-policy show':
      return show(await customer().snapshotPolicy(id(rest[0])));
    case 'snapshot-policy delete':
      return show(await customer().deleteSnapshotPolicy(id(rest[0])));
    case 'webhook set':
      return show(await customer().setWebhook(rest[0] ?? fail('name the webhook URL')));
    case 'webhook show':
      return show(await customer().webhook());
    case 'webhook delete':
      return show(await customer().deleteWebhook());
    case 'events':
      return show(await customer().events(int('after', 0), int('limit', 100)));
    case 'write': {
      const data = values.file ? readFileSync(values.file) : Buffer.from(values.data ?? fail('give --data or --file'));
      return show(await customer().write(id(sub), int('offset'), data));
    }
    case 'read':
      return output(await customer().read(id(sub), int('offset'), int('length')));
    case 'review':
      return output(await customer().reviewRead(id(sub), int('offset'), int('length')));
    case 'attach': {
      const apiKey = process.env.BLACKSTART_API_KEY ?? fail('set BLACKSTART_API_KEY to a customer API key');
      const port =
        values.port === undefined ? undefined : /^\d{1,5}$/.test(values.port) ? Number(values.port) : fail('--port must be a port number');
      if (values.socket !== undefined && port !== undefined) fail('give --socket or --port, not both');
      return runAttach({
        apiUrl,
        apiKey,
        volumeId: id(sub),
        review: values.review ?? false,
        socketPath: values.socket,
        port,
        host: values.bind,
        nodeCa: nodeCa(),
      });
    }
    case 'power-fail':
    case 'restore': {
      if (!c.controlPort) fail('no running cluster found in BLACKSTART_HOME (start one with npm start)');
      const url = `http://127.0.0.1:${c.controlPort}/${command}`;
      return show(await requestJson(url, { method: 'POST', body: domainTarget(), token: c.operatorToken }));
    }
    case 'join-token':
      return console.log(joinToken(process.env.CLUSTER_SECRET ?? fail('set CLUSTER_SECRET')));
    case 'fleet':
      return show(await operator.fleet());
    case 'recoveries':
      return show(await operator.recoveries());
    case 'health':
      process.exitCode = await runHealth(operator, { json: values.json ?? false, stuckAfterSeconds: values['stuck-after'] });
      return;
    default:
      fail(`unknown command "${positionals.join(' ')}"\n${USAGE}`);
  }
}

main().catch((err: Error) => fail(err.message));
