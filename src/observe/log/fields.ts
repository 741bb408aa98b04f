/**
 * Every structured field hotcert logs, named once. snake_case so that journald, json shippers and `grep` agree.
 * Values are names, paths, serials and numbers: never PEM text, keys or a runtime command's payload.
 */
export const Field = {
  component: 'component',
  lineage: 'lineage',
  target: 'target',
  runtime: 'runtime',
  file: 'file',
  serial: 'serial',
  notAfter: 'not_after',
  outcome: 'outcome',
  reason: 'reason',
  durationMs: 'duration_ms',
  attempt: 'attempt',
  retryInMs: 'retry_in_ms',
  haproxyVersion: 'haproxy_version',
  errorCode: 'error_code',
  error: 'error',
  stack: 'stack',
  configFile: 'config_file',
  container: 'container',
  signal: 'signal',
} as const;
