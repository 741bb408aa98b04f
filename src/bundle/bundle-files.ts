import { join } from 'node:path';
import { readFileIfExists, removeFileDurably, writeFileAtomic, type FileOwnership } from './atomic-file.js';

/** hotcert's bundles directory: `<dir>/<lineage>.pem`, written atomically with the configured mode and owner. */
export class BundleFiles {
  constructor(
    readonly dir: string,
    private readonly ownership: FileOwnership,
  ) {}

  pathOf(lineage: string): string {
    return join(this.dir, `${lineage}.pem`);
  }

  read(lineage: string): Promise<string | undefined> {
    return readFileIfExists(this.pathOf(lineage));
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
