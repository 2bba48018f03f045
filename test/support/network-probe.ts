// Reachability between a cluster's network hosts, measured with real TCP connections: a listener
// in each node's namespace and one on the control plane's address; a connection from a namespace
// is made by a short-lived `node` inside it (`ip netns exec`).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import type { NetworkHosts } from '../../cluster/network-hosts.js';

export const PROBE_PORT = 7000;
/** A connection not made within this is taken as cut (a cut is silence, never a refusal). */
const PROBE_TIMEOUT_MS = 1000;
const CONNECT = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});
s.on('connect',()=>{process.stdout.write('ok');process.exit(0)});s.on('error',e=>{process.stdout.write(e.code);process.exit(0)});
setTimeout(()=>setImmediate(()=>{process.stdout.write('timeout');process.exit(0)}),+process.argv[3]);`;

export type Endpoint = 'cp' | string;

export class Probe {
  private listeners: ChildProcess[] = [];
  private server: Server | null = null;

  constructor(private readonly net: NetworkHosts) {}

  /** A TCP listener on every host, the control plane's included. */
  async listen(): Promise<void> {
    this.server = createServer((s) => s.end());
    await new Promise<void>((resolve) => this.server!.listen(PROBE_PORT, this.net.plan.controlAddress, resolve));
    for (const h of this.net.plan.hosts) {
      const script = `require('net').createServer(s=>s.end()).listen(${PROBE_PORT},'${h.address}',()=>console.log('listening'))`;
      const child = spawn('ip', [...this.net.execPrefix(h.nodeId), process.execPath, '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      this.listeners.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`listener in ${h.nodeId} exited ${code}`)));
      });
    }
  }

  /** Whether `from` can open a TCP connection to `to`. */
  async reaches(from: Endpoint, to: Endpoint): Promise<boolean> {
    const host = to === 'cp' ? this.net.plan.controlAddress : this.net.address(to);
    return (await this.connect(from, host, PROBE_TIMEOUT_MS)) === 'ok';
  }

  /** Every ordered pair of the given endpoints, as 'a>b' for those that connect. */
  async matrix(endpoints: Endpoint[]): Promise<string[]> {
    const pairs = endpoints.flatMap((a) => endpoints.filter((b) => b !== a).map((b) => [a, b] as const));
    const ok = await Promise.all(pairs.map(([a, b]) => this.reaches(a, b)));
    return pairs.filter((_, i) => ok[i]).map(([a, b]) => `${a}>${b}`);
  }

  async connectOnce(from: Endpoint, to: Endpoint, timeoutMs: number): Promise<string> {
    return this.connect(from, to === 'cp' ? this.net.plan.controlAddress : this.net.address(to), timeoutMs);
  }

  async close(): Promise<void> {
    for (const child of this.listeners) child.kill('SIGKILL');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private connect(from: Endpoint, host: string, timeoutMs: number): Promise<string> {
    if (from === 'cp') return connectFromHere(host, timeoutMs);
    return new Promise((resolve, reject) => {
      const args = [...this.net.execPrefix(from), process.execPath, '-e', CONNECT, host, String(PROBE_PORT), String(timeoutMs)];
      execFile('ip', args, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
    });
  }
}

function connectFromHere(host: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: PROBE_PORT });
    let settled = false;
    const done = (result: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    // After a busy event loop the timer and the connection are due together: the connection wins.
    const timer = setTimeout(() => setImmediate(() => done('timeout')), timeoutMs);
    socket.once('connect', () => done('ok'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
  });
}

/** Every ordered pair of endpoints as 'a>b'. */
export function allPairs(endpoints: Endpoint[]): string[] {
  return endpoints.flatMap((a) => endpoints.filter((b) => b !== a).map((b) => `${a}>${b}`));
}

/** `all` less the listed cut pairs ('a|b' cuts both directions). */
export function without(all: string[], cuts: string[]): string[] {
  const cutSet = new Set(cuts.flatMap(bothWays));
  return all.filter((p) => !cutSet.has(p));
}

function bothWays(pair: string): string[] {
  const [a, b] = pair.split('|');
  return [`${a}>${b}`, `${b}>${a}`];
}
