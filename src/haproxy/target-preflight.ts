import { stat } from 'node:fs/promises';
import type { TargetConfig } from '../config/schema.js';
import { RuntimeCommandError } from '../errors.js';
import type { CliLevel } from './replies.js';
import type { RuntimeClient } from './runtime-client.js';

/** Certificate commands need `level admin`; the problem with any other level, or undefined. */
export function cliLevelProblem(level: CliLevel): string | undefined {
  return level === 'admin' ? undefined : `stats socket level is "${level}": certificate commands need "level admin"`;
}

/**
 * What is wrong with the crt-lists HAProxy loaded, for this target, or undefined: the bundles dir must not be loaded
 * as a `crt <dir>` (HAProxy would load every file there, crt-list and temp files included), and the crt-list must be
 * loaded under the name configured for the target.
 */
export function crtListProblem(target: TargetConfig, lists: readonly string[]): string | undefined {
  if (lists.includes(target.bundlesDir) || lists.includes(`${target.bundlesDir}/`)) {
    return `HAProxy loads the bundles dir ${target.bundlesDir} as "crt ${target.bundlesDir}"; serve hotcert's bundles through the crt-list ${target.crtList} only`;
  }
  if (!lists.includes(target.crtList)) {
    return `HAProxy has no crt-list named ${target.crtList} (it has: ${lists.join(', ') || 'none'}); add "ssl crt-list ${target.crtList}" to a bind line, or set targets[].crtList to the name HAProxy uses`;
  }
  return undefined;
}

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
    const problem = cliLevelProblem(await client.showCliLevel()) ?? crtListProblem(target, await client.showCrtLists());
    return problem ? new RuntimeCommandError(`target ${target.name}: ${problem}`, '', { target: target.name }) : undefined;
  } catch (error) {
    return error as Error;
  }
}
