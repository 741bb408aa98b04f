/**
 * The steps a plan is made of, in the order they run. Each is one effect on hotcert's files or on one HAProxy;
 * what a step works with (the bundle, the store path, the crt-list line) comes from the facts it was planned from.
 *
 * - `write-bundle`: replace hotcert's bundle file with the source's bundle (atomically; the previous bytes kept).
 * - `new-store`: `new ssl cert <path>`, an empty store for a certificate HAProxy does not have.
 * - `swap`: `set ssl cert` + `show ssl cert *<path>` (the transaction must be ours and hold this certificate),
 *   then `commit ssl cert`.
 * - `add-runtime-line`: `add ssl crt-list <list> <<` the wanted line: the store is served from then on.
 * - `replace-runtime-line`: add the wanted line, then delete the store's older entries by line number, so that
 *   the names always have a certificate.
 * - `verify`: `show ssl cert <path>`: HAProxy serves this certificate, in use. The last runtime step of a deploy.
 * - `write-crt-list-line`: the wanted line into hotcert's crt-list file, once HAProxy serves the store.
 * - `delete-store`: `del ssl cert <path>`, a store hotcert made that serves nothing (its bundle was refused).
 * - `restore-bundle`: put back what the bundle file held before this reconcile wrote it, or remove it.
 * - `remove-runtime-lines`, `delete-store`, `remove-crt-list-line`, `remove-bundle`: a removal, in that order
 *   (the file's line goes before the bundle it names).
 * - `reload`, `verify-by-handshake`: the reload fallback, when the runtime API cannot be used.
 */
export type Step =
  | 'write-bundle'
  | 'new-store'
  | 'swap'
  | 'add-runtime-line'
  | 'replace-runtime-line'
  | 'write-crt-list-line'
  | 'verify'
  | 'delete-store'
  | 'restore-bundle'
  | 'remove-runtime-lines'
  | 'remove-crt-list-line'
  | 'remove-bundle'
  | 'reload'
  | 'verify-by-handshake';

/** Steps that change what HAProxy serves (as opposed to repairing hotcert's files). */
export const RUNTIME_CHANGES: ReadonlySet<Step> = new Set(['new-store', 'swap', 'add-runtime-line', 'replace-runtime-line', 'reload']);
