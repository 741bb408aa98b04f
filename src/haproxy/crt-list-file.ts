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

/** The line a certificate's store gets: its path, with the operator's options and SNI filters for it. */
export function crtListLineFor(path: string, options: { readonly sslOptions?: string | undefined; readonly sniFilters: readonly string[] }): CrtListLine {
  return { path, sniFilters: options.sniFilters, ...(options.sslOptions ? { sslOptions: options.sslOptions } : {}) };
}

export function formatCrtListLine(line: CrtListLine): string {
  const options = line.sslOptions ? ` [${line.sslOptions}]` : '';
  const filters = line.sniFilters.length > 0 ? ` ${line.sniFilters.join(' ')}` : '';
  return `${line.path}${options}${filters}`;
}

/** The path an entry line starts with; undefined for comments and blank lines. */
function crtListEntryPath(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  return trimmed.split(/\s+/)[0];
}

/** A crt-list file as lines, indexed by path, so that lookups and edits do not scan the whole file. */
export class CrtListText {
  private readonly byPath: Map<string, number[]>;

  private constructor(
    readonly lines: (string | undefined)[],
    index?: ReadonlyMap<string, number[]>,
  ) {
    // An index handed over is copied, not shared: edits replace a path's array, never change one in place.
    this.byPath = new Map(index);
    if (!index) lines.forEach((line, at) => this.indexLine(line, at));
  }

  /** A copy to edit; this one stays as it is (the file as on disk) until the copy is written. */
  clone(): CrtListText {
    return new CrtListText([...this.lines], this.byPath);
  }

  static parse(text: string): CrtListText {
    return new CrtListText(text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  }

  state(wanted: CrtListLine): 'present' | 'absent' | 'differs' {
    const at = this.byPath.get(wanted.path);
    if (!at || at.length === 0) return 'absent';
    const wantedText = formatCrtListLine(wanted);
    return at.some((index) => this.lines[index]?.trim().replace(/\s+/g, ' ') === wantedText) && at.length === 1 ? 'present' : 'differs';
  }

  /** One line for the path, as wanted: the first existing one replaced in place (duplicates dropped), or appended. */
  put(wanted: CrtListLine): void {
    const text = formatCrtListLine(wanted);
    const [first, ...duplicates] = this.byPath.get(wanted.path) ?? [];
    for (const index of duplicates) this.lines[index] = undefined;
    if (first === undefined) {
      this.lines.push(text);
      this.byPath.set(wanted.path, [this.lines.length - 1]);
    } else {
      this.lines[first] = text;
      this.byPath.set(wanted.path, [first]);
    }
  }

  remove(path: string): void {
    for (const index of this.byPath.get(path) ?? []) this.lines[index] = undefined;
    this.byPath.delete(path);
  }

  render(): string {
    const kept = this.lines.filter((line): line is string => line !== undefined);
    return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
  }

  private indexLine(line: string | undefined, index: number): void {
    const path = line === undefined ? undefined : crtListEntryPath(line);
    if (path === undefined) return;
    const at = this.byPath.get(path);
    if (at) at.push(index);
    else this.byPath.set(path, [index]);
  }
}

