import { constants } from 'node:fs';
import { access, open, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resolveOwnership } from '../../platform/files/resolve-ownership.js';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { Finding } from './finding.js';
import { secretLocations } from '../../sources/kubernetes/secret-volumes.js';

/** What hotcert reads (Certbot's live dir) and writes (bundles, crt-list) on this host. */
export async function checkFiles(config: Config): Promise<Finding[]> {
  return [
    ...(config.letsencrypt ? [await checkLiveDir(config.letsencrypt.dir)] : []),
    ...(await Promise.all((config.kubernetes?.secretDirs ?? []).map(checkSecretDir))),
    await checkBundles(config),
    await checkWritableDir('crt-list', dirname(config.crtList.file), config.crtList.file),
  ];
}

// One finding: the directory, and the mode and owner bundles get there (said only when they can be written at all).
async function checkBundles(config: Config): Promise<Finding> {
  const dir = await checkWritableDir('bundles', config.bundles.dir);
  const mode = `mode ${config.bundles.mode.toString(8).padStart(4, '0')}`;
  try {
    const ownership = await resolveOwnership(config.bundles);
    const ids = [ownership.uid === undefined ? '' : `owner uid ${ownership.uid}`, ownership.gid === undefined ? '' : `group gid ${ownership.gid}`].filter(Boolean);
    return dir.status === 'fail' ? dir : { ...dir, message: `${dir.message}; bundles written with ${[mode, ...ids].join(', ')}` };
  } catch (error) {
    const issue = error instanceof ConfigError ? error.issues[0] : undefined;
    return { status: 'fail', subject: 'bundles', message: `${dir.status === 'fail' ? `${dir.message}; ` : ''}${issue ? `${issue.path}: ${issue.message}` : (error as Error).message}` };
  }
}

async function checkSecretDir(dir: string): Promise<Finding> {
  const secrets = secretLocations(dir);
  try {
    await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { status: code === 'ENOENT' ? 'warn' : 'fail', subject: 'kubernetes', message: `${dir}: ${code === 'ENOENT' ? 'does not exist (no Secret volume mounted there)' : `cannot be read: ${describeCode(code)}`}` };
  }
  const shape = secrets[0]?.shape === 'projected' ? 'a projected volume' : 'a volume per Secret';
  return { status: 'ok', subject: 'kubernetes', message: `${dir}: readable, ${secrets.length} Secret${secrets.length === 1 ? '' : 's'}${secrets.length > 0 ? ` (${shape})` : ''}` };
}

async function checkLiveDir(letsencryptDir: string): Promise<Finding> {
  const liveDir = join(letsencryptDir, 'live');
  try {
    const entries = await readdir(liveDir, { withFileTypes: true });
    const lineages = entries.filter((entry) => entry.isDirectory()).length;
    return { status: 'ok', subject: 'letsencrypt', message: `${liveDir}: readable, ${lineages} lineage${lineages === 1 ? '' : 's'}` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return { status: 'warn', subject: 'letsencrypt', message: `${liveDir}: does not exist yet (Certbot has issued no certificate here)` };
    }
    return { status: 'fail', subject: 'letsencrypt', message: `${liveDir}: cannot be read: ${describeCode(code)} (hotcert needs read access to Certbot's live/ and archive/)` };
  }
}

/**
 * hotcert replaces files by writing a temp file beside them and renaming it, so the directory itself must be
 * writable; a test file is written because access(2) says yes to root on a read-only bind mount in some setups.
 */
async function checkWritableDir(subject: string, dir: string, file?: string): Promise<Finding> {
  const what = file ?? dir;
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) return { status: 'fail', subject, message: `${dir}: is not a directory` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { status: 'fail', subject, message: `${dir}: cannot be read: ${describeCode((error as NodeJS.ErrnoException).code)}` };
    }
    const ancestor = await nearestExistingAncestor(dir);
    try {
      await access(ancestor, constants.W_OK);
      return { status: 'warn', subject, message: `${dir}: does not exist yet; hotcert will create it in ${ancestor}` };
    } catch {
      return { status: 'fail', subject, message: `${dir}: does not exist and ${ancestor} is not writable` };
    }
  }
  const probe = join(dir, `.hotcert-check-${process.pid}`);
  try {
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await unlink(probe);
  } catch (error) {
    return { status: 'fail', subject, message: `${dir}: not writable: ${describeCode((error as NodeJS.ErrnoException).code)} (hotcert writes ${what} by rename in this directory)` };
  }
  return { status: 'ok', subject, message: `${what}: directory writable` };
}

async function nearestExistingAncestor(dir: string): Promise<string> {
  let current = dirname(dir);
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      // Missing: go one level up; "/" always exists and ends the walk.
      current = dirname(current);
    }
  }
}

function describeCode(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    default:
      return code ?? 'unknown error';
  }
}
