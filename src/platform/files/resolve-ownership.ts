import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import type { FileOwnership } from './atomic-file.js';

/**
 * Turns the configured owner and group (names or ids) into ids, from /etc/passwd and /etc/group: Node has no
 * getpwnam(3), and these files are what a Debian host or a container image resolves names from.
 * @throws ConfigError naming the key (bundles.owner, bundles.group) when a name is unknown.
 */
export async function resolveOwnership(bundles: {
  readonly mode: number;
  readonly owner?: string | number;
  readonly group?: string | number;
}): Promise<FileOwnership> {
  const uid = await resolveId(bundles.owner, '/etc/passwd', 'bundles.owner', 'user');
  const gid = await resolveId(bundles.group, '/etc/group', 'bundles.group', 'group');
  const umask = processUmask();
  return { mode: bundles.mode, ...(uid === undefined ? {} : { uid }), ...(gid === undefined ? {} : { gid }), ...(umask === undefined ? {} : { umask }) };
}

// Linux reports it in /proc/self/status (since 4.7); process.umask() reads it by setting it twice, racing other
// threads (Node's DEP0139).
function processUmask(): number | undefined {
  try {
    const match = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? parseInt(match[1] as string, 8) : undefined;
  } catch {
    return undefined;
  }
}

async function resolveId(value: string | number | undefined, database: string, key: string, kind: string): Promise<number | undefined> {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
  const text = await readFile(database, 'utf8');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name === value && id !== undefined && /^\d+$/.test(id)) return Number(id);
  }
  throw new ConfigError(database, [{ path: key, message: `no ${kind} named "${value}" in ${database}` }]);
}
