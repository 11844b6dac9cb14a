import { createInterface } from 'node:readline/promises';
import { DATABASES, type Database } from './options.ts';

/** Where questions go and answers come from: the terminal, or a test's streams. */
export interface PromptIO {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
}

/** What the user left out of the command line. */
export interface Missing {
  readonly directory: boolean;
  readonly database: boolean;
  readonly example: boolean;
}

/** The answers: an empty answer takes the default shown in brackets. */
export interface Answers {
  directory?: string;
  database?: Database;
  example?: boolean;
}

/** Asks, one line each, for what is missing; repeats a question until its answer is valid. */
export async function ask(missing: Missing, io: PromptIO): Promise<Answers> {
  const rl = createInterface({ input: io.input, output: io.output, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const question = async (text: string): Promise<string> => {
    io.output.write(text);
    const next = await lines.next();
    if (next.done) throw new Error('create-carburetor-app: the input ended before every answer');
    return String(next.value).trim();
  };
  const answers: Answers = {};
  try {
    while (missing.directory && !answers.directory) {
      answers.directory =
        (await question('Folder for the new app [my-carburetor-app]: ')) || 'my-carburetor-app';
    }
    while (missing.database && !answers.database) {
      const answer =
        (await question(
          'Database: pglite (embedded, no setup) or pg (PostgreSQL at DATABASE_URL) [pglite]: ',
        )) || 'pglite';
      if (DATABASES.includes(answer as Database)) answers.database = answer as Database;
      else io.output.write(`"${answer}" is neither pglite nor pg.\n`);
    }
    while (missing.example && answers.example === undefined) {
      const answer = (
        await question('Include the example todo table and page? [Y/n]: ')
      ).toLowerCase();
      if (['', 'y', 'yes'].includes(answer)) answers.example = true;
      else if (['n', 'no'].includes(answer)) answers.example = false;
      else io.output.write(`Answer y or n.\n`);
    }
  } finally {
    rl.close();
  }
  return answers;
}
