// A PEM block anywhere in a log value is replaced whole, including a truncated one (no END line). Callers never
// log PEM on purpose; this guards against a cause's message that quoted one (a library echoing its input).
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;

export const REDACTED_PEM = '[redacted PEM block]';

export function redactPem(text: string): string {
  return text.includes('-----BEGIN ') ? text.replace(PEM_BLOCK, REDACTED_PEM) : text;
}
