import { mkdirSync } from 'node:fs';
import { createPgliteKysely } from '@carburetor/server';
import { PGlite } from '@electric-sql/pglite';

mkdirSync('./data', { recursive: true });
export const db = createPgliteKysely(new PGlite('./data/pglite'));
