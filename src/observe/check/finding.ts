/** One result of `check-config`: what was checked, and what was found. */
export interface Finding {
  readonly status: 'ok' | 'warn' | 'fail';
  /** What the finding is about: `config`, `letsencrypt`, `bundles`, `crt-list`, `target local`. */
  readonly subject: string;
  readonly message: string;
}

export function formatFindings(findings: readonly Finding[]): string {
  const width = Math.max(...findings.map((finding) => finding.subject.length));
  return findings.map((finding) => `${finding.status.padEnd(4)}  ${finding.subject.padEnd(width)}  ${finding.message}`).join('\n');
}
