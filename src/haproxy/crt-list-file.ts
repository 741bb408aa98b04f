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

/** A change to a crt-list: one line for a path (replacing the path's lines), or none. */
export type CrtListEdit = { readonly kind: 'put'; readonly line: CrtListLine } | { readonly kind: 'remove'; readonly path: string };

/** A crt-list file as lines, indexed by path, so that lookups and edits do not scan the whole file. */
export class CrtListText {
  private readonly byPath = new Map<string, number[]>();

  private constructor(readonly lines: (string | undefined)[]) {
    lines.forEach((line, at) => this.indexLine(line, at));
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

  /**
   * The file as it will be after `edits`, this text left as it is (it stays what is on disk until the write is
   * done). Each path ends with one line where its first line was (duplicates dropped), appended when it had none,
   * or no line at all.
   */
  renderWith(edits: readonly CrtListEdit[]): string {
    const replaced = new Map<number, string | undefined>();
    const appended: string[] = [];
    for (const change of this.changes(edits)) {
      for (const index of change.duplicates) replaced.set(index, undefined);
      if (change.first !== undefined) replaced.set(change.first, change.text);
      else if (change.text !== undefined) appended.push(change.text);
    }
    const kept: string[] = [];
    this.lines.forEach((line, index) => {
      const text = replaced.has(index) ? replaced.get(index) : line;
      if (text !== undefined) kept.push(text);
    });
    kept.push(...appended);
    return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
  }

  /** Makes this text what renderWith(edits) rendered: once that is on disk. */
  apply(edits: readonly CrtListEdit[]): void {
    for (const { path, first, duplicates, text } of this.changes(edits)) {
      for (const index of duplicates) this.lines[index] = undefined;
      if (first !== undefined) this.lines[first] = text;
      else if (text !== undefined) this.lines.push(text);
      if (text === undefined) this.byPath.delete(path);
      else this.byPath.set(path, [first ?? this.lines.length - 1]);
    }
  }

  // Per path, its last edit: the line it ends with (undefined: none), where its lines are now.
  private changes(edits: readonly CrtListEdit[]): { path: string; first: number | undefined; duplicates: number[]; text: string | undefined }[] {
    const wanted = new Map<string, string | undefined>();
    for (const edit of edits) {
      if (edit.kind === 'put') wanted.set(edit.line.path, formatCrtListLine(edit.line));
      else wanted.set(edit.path, undefined);
    }
    return [...wanted].map(([path, text]) => {
      const [first, ...duplicates] = this.byPath.get(path) ?? [];
      return { path, first, duplicates, text };
    });
  }

  render(): string {
    return this.renderWith([]);
  }

  private indexLine(line: string | undefined, index: number): void {
    const path = line === undefined ? undefined : crtListEntryPath(line);
    if (path === undefined) return;
    const at = this.byPath.get(path);
    if (at) at.push(index);
    else this.byPath.set(path, [index]);
  }
}
