import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, TargetConfig } from '../../config/schema.js';
import { execMessage, type DockerApi } from '../../platform/docker/docker-api.js';
import { describeErrorChain } from '../../errors.js';
import type { Finding } from './finding.js';

/** Enough bundles to catch a wrong mode or owner without an exec command line of ten thousand paths. */
const SAMPLE_BUNDLES = 200;

// Runs in the container as its own user (what HAProxy runs as): names every path it cannot read.
const READABLE_SCRIPT = 'for f in "$@"; do [ -r "$f" ] || echo "$f"; done';

/**
 * Whether a container target's HAProxy can read what hotcert writes, checked from inside the container, as its
 * user, at the paths HAProxy names: the crt-list (its text must be the file hotcert writes, which proves the volume
 * is the same) and the bundles. A bundle only root can read swaps fine at runtime and then stops the container
 * from starting (the official image runs as uid 99).
 */
/** What hotcert has written, read once for every container checked. */
export interface WrittenFiles {
  readonly crtListFile: string;
  /** The crt-list's text; undefined when there is none yet. */
  readonly crtListText: string | undefined;
  /** A sample of the bundle file names; undefined when the bundles directory does not exist yet. */
  readonly bundleNames: readonly string[] | undefined;
}

export async function readWrittenFiles(config: Config): Promise<WrittenFiles> {
  const [crtListText, listed] = await Promise.all([
    readFile(config.crtList.file, 'utf8').catch(() => undefined),
    readdir(config.bundles.dir).catch(() => undefined),
  ]);
  return {
    crtListFile: config.crtList.file,
    crtListText,
    bundleNames: listed?.filter((name) => name.endsWith('.pem')).sort().slice(0, SAMPLE_BUNDLES),
  };
}

export async function checkContainer(target: TargetConfig, docker: DockerApi, written: WrittenFiles): Promise<Finding[]> {
  const subject = `target ${target.name}`;
  const container = target.docker?.container as string;
  let id: string;
  let user: string;
  try {
    const info = await docker.running(container);
    id = info.id;
    user = info.user || 'root';
  } catch (error) {
    return [{ status: 'fail', subject, message: describeErrorChain(error) }];
  }
  if (target.runtimeOnly) return [{ status: 'ok', subject, message: `container ${container} is running (runtime-only: its files are not checked)` }];
  const findings: Finding[] = [];
  try {
    const local = written.crtListText;
    const seen = await docker.exec(id, ['cat', target.crtList], '', target.timeoutMs);
    if (seen.exitCode !== 0) {
      findings.push({ status: 'fail', subject, message: `container ${container} (user ${user}) cannot read ${target.crtList}: ${execMessage(seen)}` });
    } else if (local !== undefined && seen.stdout !== local) {
      findings.push({
        status: 'fail',
        subject,
        message: `${target.crtList} in container ${container} is not the file hotcert writes (${written.crtListFile}): mount the directory that holds it, not the single file`,
      });
    } else {
      findings.push({ status: 'ok', subject, message: `container ${container} (user ${user}) reads the crt-list ${target.crtList}` });
    }
    const bundles = written.bundleNames;
    if (bundles === undefined) {
      findings.push({ status: 'ok', subject, message: `the bundles directory does not exist yet: hotcert creates it (in bundles.group) at its first start` });
      return findings;
    }
    const paths = [target.bundlesDir, ...bundles.map((name) => join(target.bundlesDir, name))];
    const check = await docker.exec(id, ['sh', '-c', READABLE_SCRIPT, 'sh', ...paths], '', target.timeoutMs);
    const unreadable = check.stdout.split('\n').filter(Boolean);
    if (check.exitCode !== 0) {
      findings.push({ status: 'warn', subject, message: `cannot check the bundles from inside container ${container} (no sh?): ${execMessage(check)}` });
    } else if (unreadable.length > 0) {
      findings.push({
        status: 'fail',
        subject,
        message: `container ${container} (user ${user}) cannot read ${unreadable.length} of ${paths.length} bundle paths, e.g. ${unreadable[0]}: set bundles.group to its group (99 in the official image) and bundles.mode to "0640", and give the bundles directory that group`,
      });
    } else {
      findings.push({ status: 'ok', subject, message: `container ${container} (user ${user}) reads ${target.bundlesDir} and ${bundles.length} bundle${bundles.length === 1 ? '' : 's'}` });
    }
  } catch (error) {
    findings.push({ status: 'fail', subject, message: describeErrorChain(error) });
  }
  return findings;
}
