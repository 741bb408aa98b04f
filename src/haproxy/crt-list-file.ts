/**
 * A crt-list file as HAProxy reads it (configuration.txt, "crt-list"): one `<path> [<ssl options>] [<sni filters>]`
 * line per certificate; blank lines and `#` comments are kept as they are. Pure text editing.
 */
export interface CrtListLine {
  readonly path: string;
  /** Text between the brackets, e.g. `alpn h2,http/1.1`; undefined when the line has none. */
  readonly sslOptions?: string;
  readonly sniFilters: readonly string[];
}

export function formatCrtListLine(line: CrtListLine): string {
  const options = line.sslOptions ? ` [${line.sslOptions}]` : '';
  const filters = line.sniFilters.length > 0 ? ` ${line.sniFilters.join(' ')}` : '';
  return `${line.path}${options}${filters}`;
}

/** The first path on each entry line (no comments, no blanks), keyed to its 0-based line index. */
function entryPath(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  return trimmed.split(/\s+/)[0];
}

/** How the file stands for one path: absent, present exactly as wanted, or present with other options. */
export function crtListLineState(fileText: string, wanted: CrtListLine): 'present' | 'absent' | 'differs' {
  const wantedText = formatCrtListLine(wanted);
  let found: 'absent' | 'differs' = 'absent';
  for (const line of fileText.split('\n')) {
    if (entryPath(line) !== wanted.path) continue;
    if (line.trim().replace(/\s+/g, ' ') === wantedText) return 'present';
    found = 'differs';
  }
  return found;
}

/**
 * The file with exactly one line for `wanted.path`, as wanted: an existing line for the path is replaced in place
 * (later duplicates removed), otherwise the line is appended. Every other line stays as it was.
 */
export function withCrtListLine(fileText: string, wanted: CrtListLine): string {
  const lines = fileText === '' ? [] : fileText.replace(/\n$/, '').split('\n');
  const wantedText = formatCrtListLine(wanted);
  let replaced = false;
  const result: string[] = [];
  for (const line of lines) {
    if (entryPath(line) === wanted.path) {
      if (!replaced) result.push(wantedText);
      replaced = true;
    } else {
      result.push(line);
    }
  }
  if (!replaced) result.push(wantedText);
  return `${result.join('\n')}\n`;
}
