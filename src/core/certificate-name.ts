// Certbot takes --cert-name verbatim, and hotcert puts lineage names into runtime API commands (as part of the
// bundle path), where `;` separates commands and spaces separate arguments: only this allowlist is accepted.
const LINEAGE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export function isSafeLineageName(name: string): boolean {
  return LINEAGE_NAME.test(name) && name !== '.' && name !== '..';
}
