import { format, type Logform } from 'winston';
import { HotcertError, describeErrorChain, errorCodeOf } from '../../errors.js';
import { Field } from './fields.js';
import { redactPem } from './redact.js';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

/** sd-daemon(3) priorities that journald reads from a `<N>` prefix on each line of stdout/stderr. */
const JOURNALD_PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * Turns an `error` field holding an Error into `error_code`, the cause chain as one line, the error's own subject
 * (lineage, target, file) and, for errors hotcert did not anticipate, the stack.
 */
export const errorFields = format((info) => {
  const error = info[Field.error];
  if (!(error instanceof Error)) return info;
  // Re-inserted so that the code comes before the text in every format.
  delete info[Field.error];
  info[Field.errorCode] = errorCodeOf(error);
  info[Field.error] = describeErrorChain(error);
  if (error instanceof HotcertError) {
    for (const [key, value] of Object.entries(error.subject)) if (info[key] === undefined) info[key] = value;
  } else if (error.stack) {
    info[Field.stack] = error.stack;
  }
  return info;
});

/** Replaces PEM blocks in the message and in every string field. */
export const redaction = format((info) => {
  for (const key of Object.keys(info)) {
    const value = info[key];
    if (typeof value === 'string') info[key] = redactPem(value);
  }
  return info;
});

function fieldsOf(info: Logform.TransformableInfo): [string, unknown][] {
  return Object.entries(info).filter(
    ([key, value]) => key !== 'level' && key !== 'message' && key !== 'timestamp' && key !== Field.stack && value !== undefined,
  );
}

function renderValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[A-Za-z0-9._:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}

/** `message key=value …` on the first line; further lines of the message, then the stack, below it. */
function renderLine(info: Logform.TransformableInfo): string {
  const fields = fieldsOf(info).map(([key, value]) => `${key}=${renderValue(value)}`);
  const [first = '', ...rest] = String(info.message).split('\n');
  const stack = info[Field.stack];
  return [[first, ...fields].join(' '), ...rest, ...(typeof stack === 'string' ? [stack] : [])].join('\n');
}

/** For terminals: an ISO timestamp, the level, the message and its fields. */
export const textLine = format((info) => {
  const level = String(info[LEVEL] ?? info.level).padEnd(5);
  info[MESSAGE] = `${new Date().toISOString()} ${level} ${renderLine(info)}`;
  return info;
});

/** For journald: no timestamp (journald adds its own) and the priority prefix on every line, stack traces too. */
export const journaldLine = format((info) => {
  const priority = JOURNALD_PRIORITY[String(info[LEVEL] ?? info.level)] ?? 6;
  info[MESSAGE] = renderLine(info)
    .split('\n')
    .map((line) => `<${priority}>${line}`)
    .join('\n');
  return info;
});

/** For log shippers: one JSON object per line. */
export const jsonLine = format((info) => {
  const record: Record<string, unknown> = {
    timestamp: new Date().toISOString(),
    level: info[LEVEL] ?? info.level,
    message: info.message,
  };
  for (const [key, value] of fieldsOf(info)) record[key] = value;
  if (info[Field.stack] !== undefined) record[Field.stack] = info[Field.stack];
  info[MESSAGE] = JSON.stringify(record);
  return info;
});
