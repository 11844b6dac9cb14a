import { spawn } from 'node:child_process';

/** Seconds since `started`, for the suite's timing lines. */
export function elapsed(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/**
 * Runs a command to its end and resolves with its output; a failure throws
 * with the command, the folder and everything it printed.
 */
export async function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const output: string[] = [];
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('error', fail);
    child.on('exit', done);
  });
  if (code !== 0) {
    throw new Error(
      `consumers: \`${command} ${args.join(' ')}\` in ${cwd} failed (exit ${code}):\n${output.join('')}`,
    );
  }
  return output.join('');
}

/** Runs `step`, logging how long it took under `label`. */
export async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await step();
  console.log(`consumers: ${label}: ${elapsed(started)}`);
  return result;
}
