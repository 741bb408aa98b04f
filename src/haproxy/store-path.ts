import { join } from 'node:path';

/**
 * The path of a certificate's store as HAProxy names it: `<bundlesDir>/<name>.pem`, with the bundles directory as
 * the target sees it (inside a container it differs from hotcert's own path). Built here only: the store key, the
 * crt-list line and the bundle file name must agree everywhere. `.pem`, never `.crt`: HAProxy 2.6.12 cannot
 * replace a `.crt`-named certificate over the CLI (haproxy #2265).
 */
export function storePath(bundlesDir: string, name: string): string {
  return join(bundlesDir, `${name}.pem`);
}
