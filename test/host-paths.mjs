// The host's own hotcert paths. No test may create or change anything there: every test config names its own
// state file and directories. The snapshot is taken before the first suite and compared by the last one.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const HOST_PATHS = ['/var/lib/hotcert', '/etc/hotcert', '/etc/haproxy/hotcert'];

function describePath(path) {
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return { [path]: 'absent' };
  }
  if (!info.isDirectory()) return { [path]: `${info.size}:${info.mtimeMs}` };
  return Object.assign({ [path]: 'dir' }, ...readdirSync(path).map((entry) => describePath(join(path, entry))));
}

export function snapshotHostPaths() {
  return Object.assign({}, ...HOST_PATHS.map(describePath));
}

export const SNAPSHOT_FILE = '.test-output/host-paths-before.json';

