// Runs `ip` and `nft` as root, with their stderr in the error.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ip(args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (err as Error).message}`);
  }
}

export async function nft(ruleset: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('nft', ['-f', '-'], (err, _out, stderr) =>
      err ? reject(new Error(`nft: ${stderr.trim() || err.message}`)) : resolve(),
    );
    child.stdin!.end(ruleset);
  });
}
