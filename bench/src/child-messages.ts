import type { ChildProcess } from 'node:child_process';

/** The next message of `type` a forked benchmark process sends. */
export function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (message: { type: string }) => {
      if (message.type !== type) return;
      child.off('message', on);
      child.off('exit', exited);
      resolve(message as T);
    };
    const exited = (code: number | null) => {
      child.off('message', on);
      reject(new Error(`the benchmark's process exited (${code}) before sending "${type}"`));
    };
    child.on('message', on);
    child.once('exit', exited);
  });
}

/** High-resolution wall-clock time in ms, comparable between processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();
