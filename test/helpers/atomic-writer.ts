import { randomInt } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * Writes a Secret, ConfigMap or projected volume the way kubelet's AtomicWriter does
 * (pkg/volume/util/atomic_writer.go; DESIGN.md §6), so tests see the layout and the intermediate states a pod sees.
 */

export type AtomicWriteStep =
  | 'payload-written' // (1) the new timestamped directory holds the payload
  | 'links-created' // (2) user-visible links made where missing (on a first write they dangle until step 4)
  | 'data-tmp-created' // (3) ..data_tmp names the new directory; ..data still names the old one
  | 'data-swapped' // (4) rename(..data_tmp, ..data): readers now resolve the new directory
  | 'old-paths-removed' // (5) user-visible links of paths no longer in the payload are gone
  | 'old-dir-removed'; // (6) the previous timestamped directory is gone

/** A file's content, or its content and mode (a projected item's `mode`). */
export type PayloadFile = string | Uint8Array | { readonly content: string | Uint8Array; readonly mode: number };

export interface AtomicWriteOptions {
  /** The volume's defaultMode (kubelet: 0644 unless set). */
  readonly defaultMode?: number;
  /** The clock that names the timestamped directory. */
  readonly now?: () => Date;
  /** Awaited after each step: a test can look at the volume, or hold the writer there. */
  readonly onStep?: (step: AtomicWriteStep, state: AtomicWriteState) => void | Promise<void>;
}

export interface AtomicWriteState {
  /** Basename of the timestamped directory being written. */
  readonly newDir: string;
  /** Basename of the one ..data named before, if any. */
  readonly oldDir: string | undefined;
}

export interface AtomicWriteResult {
  /** false when kubelet would skip the write: same content, nothing to remove (no new directory). */
  readonly written: boolean;
  /** Basename of the directory ..data names afterwards. */
  readonly dataDir: string;
}

const DATA = '..data';
const DATA_TMP = '..data_tmp';

export async function writeAtomically(
  volumeDir: string,
  payload: Readonly<Record<string, PayloadFile>>,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const files = normalize(payload, options.defaultMode ?? 0o644);
  await mkdir(volumeDir, { recursive: true });
  const oldDir = await readlinkIfExists(join(volumeDir, DATA));
  const oldPaths = oldDir === undefined ? [] : await listRelative(join(volumeDir, oldDir));
  // kubelet lists what to remove before writing: every path of the old directory the new payload does not hold,
  // its parent directories included.
  const wanted = new Set([...files.keys()].flatMap(withParents));
  const toRemove = oldPaths.filter((path) => !wanted.has(path));

  // kubelet writes nothing ("no update required") when every file is unchanged and nothing is to go: no new
  // directory, no ..data flip, so a watcher sees no event for a sync that changed nothing.
  if (oldDir !== undefined && toRemove.length === 0 && (await sameContent(join(volumeDir, oldDir), files))) {
    return { written: false, dataDir: oldDir };
  }

  const newDir = await makeTimestampDir(volumeDir, (options.now ?? (() => new Date()))());
  const state: AtomicWriteState = { newDir, oldDir };
  const step = async (name: AtomicWriteStep): Promise<void> => {
    await options.onStep?.(name, state);
  };

  for (const [path, file] of files) {
    const full = join(volumeDir, newDir, path);
    await mkdir(dirname(full), { recursive: true, mode: 0o777 });
    await writeFile(full, file.content, { mode: file.mode });
    await chmod(full, file.mode); // writeFile's mode goes through the umask; kubelet chmods after writing
  }
  await step('payload-written');

  await createUserVisibleLinks(volumeDir, files);
  await step('links-created');

  await symlink(newDir, join(volumeDir, DATA_TMP));
  await step('data-tmp-created');

  await rename(join(volumeDir, DATA_TMP), join(volumeDir, DATA));
  await step('data-swapped');

  // Only top-level names are links of their own; deeper paths went with the old directory.
  for (const path of toRemove.filter((path) => !path.includes('/'))) await rm(join(volumeDir, path), { force: true });
  await step('old-paths-removed');

  if (oldDir !== undefined) await rm(join(volumeDir, oldDir), { recursive: true, force: true });
  await step('old-dir-removed');
  return { written: true, dataDir: newDir };
}

function normalize(payload: Readonly<Record<string, PayloadFile>>, defaultMode: number): Map<string, { content: Uint8Array; mode: number }> {
  const files = new Map<string, { content: Uint8Array; mode: number }>();
  for (const [path, file] of Object.entries(payload)) {
    validatePath(path);
    const { content, mode } = typeof file === 'string' || file instanceof Uint8Array ? { content: file, mode: defaultMode } : file;
    files.set(path.replace(/\/+$/, ''), { content: typeof content === 'string' ? Buffer.from(content) : content, mode });
  }
  return files;
}

// kubelet's validatePath: relative, no ".." element, and no leading ".." (those names are the writer's own).
function validatePath(path: string): void {
  if (path === '' || isAbsolute(path)) throw new Error(`invalid payload path ${JSON.stringify(path)}: must be relative`);
  if (path.split('/').includes('..')) throw new Error(`invalid payload path ${JSON.stringify(path)}: must not contain '..'`);
  if (path.startsWith('..')) throw new Error(`invalid payload path ${JSON.stringify(path)}: must not start with '..'`);
}

function withParents(path: string): string[] {
  const parts = path.split('/');
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

// os.MkdirTemp(targetDir, "..2006_01_02_15_04_05."): the UTC time, then a random uint32 in decimal; made 0700 and
// then chmod 0755.
async function makeTimestampDir(volumeDir: string, now: Date): Promise<string> {
  const two = (value: number): string => String(value).padStart(2, '0');
  const stamp = `..${now.getUTCFullYear()}_${two(now.getUTCMonth() + 1)}_${two(now.getUTCDate())}_${two(now.getUTCHours())}_${two(now.getUTCMinutes())}_${two(now.getUTCSeconds())}.`;
  for (;;) {
    const name = `${stamp}${randomInt(0, 2 ** 32)}`;
    try {
      await mkdir(join(volumeDir, name), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    await chmod(join(volumeDir, name), 0o755);
    return name;
  }
}

// createUserVisibleFiles: one relative link per first path component, `name -> ..data/name`, made only when
// nothing is there (an existing link is kept, even a dangling one).
async function createUserVisibleLinks(volumeDir: string, files: ReadonlyMap<string, unknown>): Promise<void> {
  for (const name of new Set([...files.keys()].map((path) => path.split('/')[0] as string))) {
    if (!(await exists(join(volumeDir, name)))) await symlink(join(DATA, name), join(volumeDir, name));
  }
}

async function sameContent(dir: string, files: ReadonlyMap<string, { content: Uint8Array }>): Promise<boolean> {
  for (const [path, file] of files) {
    const current = await readFile(join(dir, path)).catch(() => undefined);
    if (current === undefined || !current.equals(file.content)) return false;
  }
  return true;
}

async function listRelative(dir: string, prefix = ''): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    paths.push(path);
    if (entry.isDirectory()) paths.push(...(await listRelative(join(dir, entry.name), path)));
  }
  return paths;
}

async function readlinkIfExists(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
