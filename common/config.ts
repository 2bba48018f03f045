// Start-up configuration from the environment. A bad value stops the process with a message
// naming every problem at once.
import type { DestinationStream } from 'pino';
import { initLog, logger } from './log.js';

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`bad configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export class Env {
  private readonly problems: string[] = [];

  constructor(private readonly vars: NodeJS.ProcessEnv = process.env) {}

  string(name: string, fallback?: string): string {
    const value = this.vars[name] ?? fallback;
    if (value === undefined || value === '') {
      this.problems.push(`${name} is required`);
      return '';
    }
    return value;
  }

  optional(name: string): string | undefined {
    const value = this.vars[name];
    return value === undefined || value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    return this.numeric(name, fallback, min, max, true);
  }

  number(name: string, fallback: number, min: number, max: number): number {
    return this.numeric(name, fallback, min, max, false);
  }

  private numeric(name: string, fallback: number, min: number, max: number, integer: boolean): number {
    const text = this.vars[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    const ok = integer ? Number.isSafeInteger(value) : Number.isFinite(value);
    if (!ok || value < min || value > max) {
      this.problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${text}"`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const text = this.vars[name];
    if (text === undefined || text === '') return fallback;
    if (['1', 'true', 'yes'].includes(text)) return true;
    if (['0', 'false', 'no'].includes(text)) return false;
    this.problems.push(`${name} must be true or false, got "${text}"`);
    return fallback;
  }

  check(extra: (problems: string[]) => void = () => undefined): void {
    extra(this.problems);
    if (this.problems.length) throw new ConfigError(this.problems);
  }
}

/**
 * Runs a process's main function with its logger named `name` (JSON on stdout, or `logTo`); a
 * configuration error or crash exits non-zero with one fatal line.
 */
export function runMain(name: string, main: () => Promise<void>, logTo?: DestinationStream): void {
  initLog(name, logTo);
  exitWithParent(name);
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) logger().fatal(`${name}: ${err.message}`);
    else logger().fatal({ err }, `${name}: ${(err as Error)?.message ?? String(err)}`);
    process.exit(1);
  });
}

/**
 * A child of a local cluster (BLACKSTART_PARENT_PID set) exits when that parent is gone, so a
 * killed `npm start` or test run leaves no orphans holding ports.
 */
function exitWithParent(name: string): void {
  const parent = Number(process.env.BLACKSTART_PARENT_PID);
  if (!parent) return;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      logger().warn(`${name}: parent process ${parent} is gone; exiting`);
      process.exit(1);
    }
  }, 1000).unref();
}
