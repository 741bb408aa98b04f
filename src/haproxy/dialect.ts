/**
 * What hotcert knows of each HAProxy version's runtime API, in one place, chosen from `show info`'s `Version:`.
 * Checked on Debian's 2.6.12, 3.0.11 and 3.2.26 and upstream 2.8.0 and 3.4.0 (DESIGN.md §3), each in the suite.
 *
 * The reply shapes that differ, and where they are handled once for every version:
 * - a `;`-chain gets one prompt per command on 2.6 to 3.0, one for the whole line on 3.2 and later: batches are
 *   one request per line, which every version answers with a prompt each (RuntimeTransport.sendBatch);
 * - 2.6 to 3.0 acknowledge each payload line with a `+ ` continuation prompt, 3.2 and later print none when the
 *   payload arrives in one write (unframePromptReply);
 * - 3.2 adds `Crt filename:` and `Key filename:` lines to `show ssl cert`, says `Status: Uncommitted` for an open
 *   transaction (`Unused` before), and words `Unknown command: '<cmd>', …` differently: the reply parsers read
 *   the fields they need by name and a refusal by its first words;
 * - a command too large for HAProxy: 2.6 and 2.8 close the connection, or acknowledge the payload's lines and never
 *   answer (2.6.12 then crashes on the next one); 3.0 and 3.2 say "The command (line) is too big for the buffer
 *   size" and close; 3.4 says "The payload is too big" (`tune.cli.max-payload-size`). Each is a CommandTooLargeError
 *   (RuntimeClient.setCertAndShowTransaction), and the target is sent nothing that large again;
 * - 3.1 and later have `dump ssl cert`, which prints the private key: hotcert never asks for it.
 */
export interface Dialect {
  /** `show info`'s `Version:`, e.g. `2.6.12-1+deb12u4` or `3.4.0`. */
  readonly version: string;
  /** `2.6`, `3.4`; undefined when the version does not parse. */
  readonly series: string | undefined;
  /** Within the series the test suite runs against. */
  readonly tested: boolean;
  /**
   * What limits one command with its payload: `tune.bufsize` up to 3.3 (a larger command gets the connection
   * closed without a reply); 3.4 reads payloads up to `tune.cli.max-payload-size`.
   */
  readonly commandLimit: 'tune.bufsize' | 'tune.cli.max-payload-size';
}

/** The series the suite runs every HAProxy test against. */
export const TESTED_SERIES = ['2.6', '2.8', '3.0', '3.2', '3.4'] as const;

export function dialectFor(version: string): Dialect {
  const match = /^(\d+)\.(\d+)/.exec(version);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  const series = match ? `${major}.${minor}` : undefined;
  return {
    version,
    series,
    tested: series !== undefined && (TESTED_SERIES as readonly string[]).includes(series),
    commandLimit: major > 3 || (major === 3 && minor >= 4) ? 'tune.cli.max-payload-size' : 'tune.bufsize',
  };
}

/** What check-config says of a version outside the tested series; undefined for a tested one. */
export function untestedWarning(dialect: Dialect): string | undefined {
  if (dialect.tested) return undefined;
  const series = TESTED_SERIES.join(', ');
  if (dialect.series === undefined) return `HAProxy version "${dialect.version}" does not parse; hotcert is tested with ${series}`;
  return `HAProxy ${dialect.version} is outside the series hotcert is tested with (${series}); hotcert still runs against it`;
}
