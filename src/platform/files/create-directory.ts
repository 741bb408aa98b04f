import { chmod, chown, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileWriteError, describeFileError } from '../../errors.js';

/**
 * Creates a directory of hotcert's (and missing parents) with mode 0750 exactly: mkdir applies the umask, and the
 * systemd unit's UMask=0077 would leave 0700. An existing directory keeps its mode: the operator chose it. With `gid`
 * (bundles.group) the directories it creates belong to that group, so an HAProxy running as that group (uid/gid 99
 * in the official image) can reach the bundles from the first start.
 * @throws FileWriteError naming the directory and the cause (read-only, no space, no permission).
 */
export async function createDirectory(dir: string, mode = 0o750, gid?: number): Promise<void> {
  try {
    const firstCreated = await mkdir(dir, { recursive: true, mode });
    if (firstCreated === undefined) return;
    for (let current = dir; ; current = dirname(current)) {
      await chmod(current, mode);
      if (gid !== undefined) await chown(current, -1, gid);
      if (current === firstCreated || dirname(current) === current) break;
    }
  } catch (error) {
    throw new FileWriteError(`cannot create the directory ${dir}: ${describeFileError(error)}`, { file: dir }, { cause: error });
  }
}
