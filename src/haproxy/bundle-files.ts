import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { removeFileDurably, writeFileAtomic, type FileOwnership } from '../platform/files/atomic-file.js';

/** hotcert's bundles directory: `<dir>/<lineage>.pem`, written atomically with the configured mode and owner. */
export class BundleFiles {
  constructor(
    readonly dir: string,
    private readonly ownership: FileOwnership,
  ) {}

  pathOf(lineage: string): string {
    return join(this.dir, `${lineage}.pem`);
  }

  /** Synchronous: a small file in the page cache, read once per lineage and target on every sync (see quick-look). */
  read(lineage: string): string | undefined {
    try {
      return readFileSync(this.pathOf(lineage), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  write(lineage: string, bundle: string): Promise<void> {
    return writeFileAtomic(this.pathOf(lineage), bundle, this.ownership);
  }

  /** Puts back what `write` replaced: the previous bundle, or no file at all. */
  async restore(lineage: string, previous: string | undefined): Promise<void> {
    if (previous === undefined) await removeFileDurably(this.pathOf(lineage));
    else await writeFileAtomic(this.pathOf(lineage), previous, this.ownership);
  }
}
