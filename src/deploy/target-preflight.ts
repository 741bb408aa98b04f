import { stat } from 'node:fs/promises';
import type { TargetConfig } from '../config/schema.js';
import { RuntimeCommandError } from '../errors.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';

/**
 * What must hold before hotcert writes to a target: it answers at `level admin`, it loaded the crt-list under the
 * configured name, and it does not load the bundles dir as a `crt <dir>` (it would then also try to load every temp
 * and crt-list file there as a certificate, and a directory entry takes no SSL options or filters).
 * @returns the problem, or undefined when the target can be written to.
 */
export async function preflightTarget(target: TargetConfig, client: RuntimeClient, crtListFile: string): Promise<Error | undefined> {
  try {
    const fileInfo = await stat(crtListFile).catch(() => undefined);
    if (fileInfo?.isDirectory()) {
      return new RuntimeCommandError(
        `crtList.file ${crtListFile} is a directory: hotcert keeps a crt-list file; load it with "ssl crt-list FILE" on the bind line`,
        '',
        { target: target.name, file: crtListFile },
      );
    }
    const level = await client.showCliLevel();
    if (level !== 'admin') {
      return new RuntimeCommandError(`target ${target.name}: stats socket level is "${level}": certificate commands need "level admin"`, '', {
        target: target.name,
      });
    }
    const lists = await client.showCrtLists();
    if (lists.includes(target.bundlesDir) || lists.includes(`${target.bundlesDir}/`)) {
      return new RuntimeCommandError(
        `target ${target.name}: HAProxy loads the bundles dir ${target.bundlesDir} as "crt ${target.bundlesDir}"; serve hotcert's bundles through the crt-list ${target.crtList} only`,
        '',
        { target: target.name },
      );
    }
    if (!lists.includes(target.crtList)) {
      return new RuntimeCommandError(
        `target ${target.name}: HAProxy has no crt-list named ${target.crtList} (it has: ${lists.join(', ') || 'none'}); add "ssl crt-list ${target.crtList}" to a bind line, or set targets[].crtList to the name HAProxy uses`,
        '',
        { target: target.name },
      );
    }
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
