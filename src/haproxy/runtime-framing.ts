import type { RuntimeRequest } from './runtime-transport.js';

/** In `prompt` mode HAProxy ends every reply with a new line and `> ` (management.txt, "prompt"). */
export const PROMPT = '\n> ';

/**
 * Builds the bytes of one non-interactive request. HAProxy reads a payload after ` <<` until an empty line
 * (management.txt, "set ssl cert"), so blank lines inside the payload would end it early: they are dropped, and
 * the payload is closed with one empty line.
 */
export function frameRequest(request: RuntimeRequest): string {
  if (/[\r\n]/.test(request.line)) throw new Error('a runtime command line cannot contain a line break');
  if (request.payload === undefined) return `${request.line}\n`;
  const lines = request.payload.split(/\r?\n/).filter((line) => line.trim() !== '');
  return `${request.line} <<\n${lines.join('\n')}\n\n`;
}

/** HAProxy ends every reply with an empty line; the text without it. */
export function unframeReply(raw: string): string {
  return raw.replace(/\n+$/, '');
}

/**
 * One reply of a prompt-mode session, without its end: HAProxy 2.6 to 3.0 acknowledge each payload line with a
 * `+ ` continuation prompt before the reply itself; 3.2 and later print none when the payload arrives in one write.
 */
export function unframePromptReply(raw: string): string {
  return raw.replace(/^(\+ )+/, '').replace(/\n+$/, '');
}
