import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** A fresh directory under the system temp dir; kept when HOTCERT_KEEP_TEST_DIRS=1 for a post-mortem. */
export async function makeTempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `hotcert-${prefix}-`));
  return {
    path,
    remove: async () => {
      if (process.env.HOTCERT_KEEP_TEST_DIRS !== '1') await rm(path, { recursive: true, force: true });
    },
  };
}
