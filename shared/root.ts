// The repository's root folder, for every file that names another by its path
// (entries to spawn, docs to rewrite, results to write).
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
