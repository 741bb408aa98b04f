// hotcert puts certificate names into runtime API commands (as part of the bundle path), where `;` separates
// commands and spaces separate arguments, and into file names: only this allowlist is accepted. Certbot takes
// --cert-name verbatim.
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The longest name taken: the bundle file `<name>.pem` must fit a file name (255 bytes on Linux file systems);
 * the rest is room for a runtime command around its path.
 */
export const MAX_NAME_LENGTH = 240;

/** Why a name cannot be deployed, or undefined when it can. */
export function certificateNameProblem(name: string): string | undefined {
  if (!NAME.test(name) || name === '.' || name === '..') {
    return 'its name has characters hotcert does not put into an HAProxy command (allowed: letters, digits, ".", "_", "-", not first ".")';
  }
  if (name.length > MAX_NAME_LENGTH) return `its name is ${name.length} characters long; hotcert takes at most ${MAX_NAME_LENGTH} (the bundle file name must fit the file system)`;
  return undefined;
}

export function isSafeCertificateName(name: string): boolean {
  return certificateNameProblem(name) === undefined;
}
