/** Parsers of HAProxy runtime API replies (2.6 to 3.4, see dialect.ts). Pure: text in, values out. */

/** `show info`: `Name: value` per line. */
export function parseShowInfo(reply: string): ReadonlyMap<string, string> {
  const fields = new Map<string, string>();
  for (const line of reply.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return fields;
}

/** `show cli level` answers `admin`, `operator` or `user`. */
export type CliLevel = 'admin' | 'operator' | 'user';

export function parseCliLevel(reply: string): CliLevel | undefined {
  const level = reply.trim();
  return level === 'admin' || level === 'operator' || level === 'user' ? level : undefined;
}

/** `show ssl crt-list` without an argument lists every crt-list file and `crt` directory, one per line. */
export function parseCrtListNames(reply: string): string[] {
  return reply
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Replies HAProxy gives to a command it will not run, whatever the command: the socket's level is too low, or this
 * HAProxy does not know the command (an older version).
 */
export function refusalOf(reply: string): 'permission-denied' | 'unknown-command' | undefined {
  if (/^Permission denied/m.test(reply)) return 'permission-denied';
  if (/^Unknown command/m.test(reply)) return 'unknown-command';
  return undefined;
}
