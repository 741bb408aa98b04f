import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { describeFailedRead, readRegularFile } from '../../platform/files/read-regular-file.js';
import { LINEAGE_FILES, type LineageFile, type RawLineage, type RawLineageFile } from './raw-lineage.js';

/**
 * Reads what a lineage's live links point at, and the files they point at, without judging it (assessLineage does).
 * `letsencryptRealDir` is the real path of Certbot's config dir: links must resolve inside it. Only regular files
 * of a bounded size are read, never blocking (readRegularFile): a link to a FIFO is reported, not waited on.
 */
export function readLineage(letsencryptDir: string, letsencryptRealDir: string, name: string): RawLineage {
  const liveDir = join(letsencryptDir, 'live', name);
  let entries: string[];
  try {
    entries = readdirSync(liveDir);
  } catch {
    // Missing or unreadable: each file below says what is wrong.
    entries = [];
  }
  const files = LINEAGE_FILES.map((file) => readLinkedFile(liveDir, file, letsencryptRealDir));
  // Looked at after the files: a lock that appears while they are read still explains what was read.
  const certbotRunning = existsSync(join(letsencryptDir, '.certbot.lock'));
  return {
    name,
    certbotRunning,
    previousLinks: entries.filter((entry) => entry.startsWith('previous_')).sort(),
    files: Object.fromEntries(LINEAGE_FILES.map((file, index) => [file, files[index] as RawLineageFile])) as Record<LineageFile, RawLineageFile>,
  };
}

function readLinkedFile(liveDir: string, file: LineageFile, root: string): RawLineageFile {
  const path = join(liveDir, `${file}.pem`);
  let linkTarget: string;
  try {
    const info = lstatSync(path);
    if (!info.isSymbolicLink()) return { state: 'not-a-link' };
    linkTarget = readlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'unreadable', linkTarget: '', problem: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'unknown'}` };
  }
  let resolved: string;
  try {
    // realpath also follows a privkeyN.pem that is itself a link inside archive/ (older --reuse-key lineages).
    // The native one is one realpath(3) call; the JS one lstats every component of the path.
    resolved = realpathSync.native(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'dangling', linkTarget };
    return { state: 'unreadable', linkTarget, problem: `cannot be resolved: ${code ?? 'unknown'}` };
  }
  if (!resolved.startsWith(root + sep)) return { state: 'outside', linkTarget, resolved };
  const read = readRegularFile(resolved);
  if (read.kind === 'read') return { state: 'read', linkTarget, resolved, content: read.content };
  if (read.kind === 'missing') return { state: 'dangling', linkTarget };
  return { state: 'unreadable', linkTarget, problem: `(${resolved}) ${describeFailedRead(read)}` };
}

/** The real path of Certbot's config dir (it may itself be a link), against which link targets are checked. */
export function resolveLetsencryptDir(letsencryptDir: string): string {
  try {
    return realpathSync(letsencryptDir);
  } catch {
    // Missing: nothing can resolve inside it, and the lineage listing reports the missing directory.
    return resolve(letsencryptDir);
  }
}
