import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSafeLineageName } from '../../core/certificate-name.js';

export interface LineageListing {
  /** Lineage names that hotcert can deploy, sorted. */
  readonly names: readonly string[];
  /** Directories under live/ whose names hotcert refuses to put into a runtime command. */
  readonly unsafeNames: readonly string[];
  /** live/ does not exist: Certbot has issued nothing here yet. */
  readonly liveDirMissing: boolean;
}

/** The lineages under `<letsencrypt>/live`: every directory (Certbot's `live/README` is a file and is skipped). */
export async function listLineages(letsencryptDir: string): Promise<LineageListing> {
  let entries;
  try {
    entries = await readdir(join(letsencryptDir, 'live'), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], unsafeNames: [], liveDirMissing: true };
    throw error;
  }
  const directories = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return {
    names: directories.filter(isSafeLineageName),
    unsafeNames: directories.filter((name) => !isSafeLineageName(name)),
    liveDirMissing: false,
  };
}
