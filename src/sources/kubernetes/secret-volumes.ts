import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where one Secret's files are, as kubelet lays them out (pkg/volume/util/atomic_writer.go): each volume has a
 * `..data` link to its current timestamped payload directory, swapped by one rename, so resolving `..data` once
 * and reading both files from the directory it names gives a consistent pair.
 * - a Secret volume per subdirectory: `<secretDir>/<name>/..data/tls.crt`;
 * - a projected volume holding several: `<secretDir>/..data/<name>/tls.crt`.
 */
export interface SecretLocation {
  readonly name: string;
  readonly secretDir: string;
  /** The volume directory: the one whose `..data` is swapped. */
  readonly volumeDir: string;
  /** The Secret's files inside the payload directory: '' for a volume of its own, `<name>` in a projected one. */
  readonly itemPath: string;
  readonly shape: 'volume' | 'projected';
}

/** kubelet's own entries (`..data`, `..data_tmp`, `..2026_12_01_…`): never a Secret's name. */
export function isKubeletEntry(entry: string): boolean {
  return entry.startsWith('..');
}

/** The Secrets of one configured directory, whichever shape it has. */
export function secretLocations(secretDir: string): SecretLocation[] {
  let entries: string[];
  try {
    entries = readdirSync(secretDir);
  } catch {
    return [];
  }
  if (entries.includes('..data')) {
    return entries
      .filter((entry) => !isKubeletEntry(entry))
      .sort()
      .map((name) => ({ name, secretDir, volumeDir: secretDir, itemPath: name, shape: 'projected' }));
  }
  return entries
    .filter((entry) => !isKubeletEntry(entry) && isDirectory(join(secretDir, entry)))
    .sort()
    .map((name) => ({ name, secretDir, volumeDir: join(secretDir, name), itemPath: '', shape: 'volume' }));
}

/** The payload directory `..data` names now; undefined while kubelet has not swapped it in yet (first write). */
export function currentPayload(volumeDir: string): string | undefined {
  try {
    const target = readlinkSync(join(volumeDir, '..data'));
    const dir = join(volumeDir, target);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
