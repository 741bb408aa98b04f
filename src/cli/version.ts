import { readFileSync } from 'node:fs';

// The package.json is one level up from the bundle (dist/main.js) and two from this module in tsc's tree
// (dist/cli/version.js, src/cli/version.ts): the first of them that is hotcert's own is the one.
const MANIFEST_CANDIDATES = ['../package.json', '../../package.json'];

/** hotcert's version, from the package.json beside `dist/` (or `src/` when run from source). */
export function readVersion(): string {
  for (const candidate of MANIFEST_CANDIDATES) {
    let manifest: { name?: string; version?: string };
    try {
      manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
    } catch {
      // Missing or not JSON: not hotcert's manifest; the next candidate is looked at.
      continue;
    }
    if (manifest.name === 'hotcert') return manifest.version ?? 'unknown';
  }
  return 'unknown';
}
