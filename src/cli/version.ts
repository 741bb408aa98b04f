import { readFileSync } from 'node:fs';

/** hotcert's version, from the package.json beside `dist/` (or `src/` when run from source). */
export function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}
