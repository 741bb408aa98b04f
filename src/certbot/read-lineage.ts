import { access, lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { LINEAGE_FILES, type LineageFile, type RawLineage, type RawLineageFile } from './lineage-snapshot.js';

/**
 * Reads what a lineage's live links point at, and the files they point at, without judging it (assessLineage does).
 * `letsencryptRealDir` is the real path of Certbot's config dir: links must resolve inside it.
 */
export async function readLineage(letsencryptDir: string, letsencryptRealDir: string, name: string): Promise<RawLineage> {
  const liveDir = join(letsencryptDir, 'live', name);
  const [entries, ...files] = await Promise.all([
    readdir(liveDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    }),
    ...LINEAGE_FILES.map((file) => readLinkedFile(liveDir, file, letsencryptRealDir)),
  ]);
  // Looked at after the files: a lock that appears while they are read still explains what was read.
  const certbotRunning = await exists(join(letsencryptDir, '.certbot.lock'));
  return {
    name,
    liveDir,
    certbotRunning,
    previousLinks: entries.filter((entry) => entry.startsWith('previous_')).sort(),
    files: Object.fromEntries(LINEAGE_FILES.map((file, index) => [file, files[index] as RawLineageFile])) as Record<
      LineageFile,
      RawLineageFile
    >,
  };
}

async function readLinkedFile(liveDir: string, file: LineageFile, root: string): Promise<RawLineageFile> {
  const path = join(liveDir, `${file}.pem`);
  let linkTarget: string;
  try {
    const info = await lstat(path);
    if (!info.isSymbolicLink()) return { state: 'not-a-link' };
    linkTarget = await readlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw error;
  }
  let resolved: string;
  try {
    // realpath also follows a privkeyN.pem that is itself a link inside archive/ (older --reuse-key lineages).
    resolved = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'dangling', linkTarget };
    return { state: 'unreadable', linkTarget, code: code ?? 'unknown' };
  }
  if (!resolved.startsWith(root + sep)) return { state: 'outside', linkTarget, resolved };
  try {
    return { state: 'read', linkTarget, resolved, content: await readFile(resolved, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'dangling', linkTarget };
    return { state: 'unreadable', linkTarget, code: code ?? 'unknown' };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    // Absent (or not visible to us): either way Certbot's lock is not known to be held.
    return false;
  }
}

/** The real path of Certbot's config dir (it may itself be a link), against which link targets are checked. */
export async function resolveLetsencryptDir(letsencryptDir: string): Promise<string> {
  try {
    return await realpath(letsencryptDir);
  } catch {
    // Missing: nothing can resolve inside it, and the lineage listing reports the missing directory.
    return resolve(letsencryptDir);
  }
}
