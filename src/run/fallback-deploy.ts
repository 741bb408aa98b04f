import { join } from 'node:path';
import { normalizeSerial } from '../core/serial.js';
import { LineageInvalidError, ReloadFallbackError } from '../errors.js';
import type { ReloadFallback } from '../platform/docker/reload-fallback.js';
import type { DeployResult, PreparedLineage, TargetContext } from './deploy-to-target.js';

const POLL_MS = 250;

/**
 * A deploy through the reload fallback: hotcert's files (bundle, crt-list line) are brought up to date, and unless
 * a TLS handshake shows the container already serves this serial, the container is reloaded and polled until it
 * does. Never throws.
 */
export async function fallbackDeploy(prepared: PreparedLineage, context: TargetContext, fallback: ReloadFallback, startedMs: number): Promise<DeployResult> {
  const { target } = context;
  const base = { lineage: prepared.name, target: target.name };
  const elapsed = (): number => Date.now() - startedMs;
  const { assessment, bundle } = await prepared.full();
  if (assessment.kind === 'not-ready') return { ...base, kind: 'not-ready', reason: assessment.reason, durationMs: elapsed() };
  if (assessment.kind === 'invalid') {
    const error = new LineageInvalidError(`lineage ${prepared.name}: ${assessment.reason}`, { lineage: prepared.name, ...(assessment.file ? { file: assessment.file } : {}) });
    return { ...base, kind: 'failed', reason: assessment.reason, error, durationMs: elapsed() };
  }
  const snapshot = assessment.snapshot;
  const facts = { serial: snapshot.serial, notAfter: snapshot.notAfter };
  const options = context.lineageOptions(prepared.name);
  const servername = (snapshot.dnsNames[0] ?? prepared.name).replace(/^\*\./, 'hotcert-check.');
  const wanted = normalizeSerial(snapshot.serial);
  try {
    if (context.bundles.read(prepared.name) !== bundle) await context.bundles.write(prepared.name, bundle as string);
    const line = { path: join(target.bundlesDir, `${prepared.name}.pem`), sniFilters: options.sniFilters, ...(options.sslOptions ? { sslOptions: options.sslOptions } : {}) };
    if (await context.crtList.stageLine(line)) await context.crtList.flush();
    const before = await fallback.servedSerial(target, servername).catch(() => undefined);
    if (before !== undefined && normalizeSerial(before) === wanted) {
      return { ...base, ...facts, kind: 'unchanged', reason: 'served already (read by a TLS handshake: the runtime API cannot be used)', durationMs: elapsed() };
    }
    await fallback.reload(target);
    const deadline = Date.now() + (target.docker?.reloadFallback?.timeoutMs ?? 30_000);
    let last: string | Error = 'nothing';
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      try {
        last = await fallback.servedSerial(target, servername);
        if (normalizeSerial(last) === wanted) {
          return { ...base, ...facts, kind: 'reloaded', reason: 'runtime API unavailable: files written and the container reloaded', durationMs: elapsed() };
        }
      } catch (error) {
        last = error as Error;
      }
    }
    const seen = typeof last === 'string' ? `serial ${normalizeSerial(last) || 'none'}` : last.message;
    const error = new ReloadFallbackError(`target ${target.name}: after the reload the container serves ${seen} for ${servername}, not ${wanted}`, {
      lineage: prepared.name,
      target: target.name,
    });
    return { ...base, ...facts, kind: 'failed', reason: error.message, error, durationMs: elapsed() };
  } catch (error) {
    return { ...base, ...facts, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
  }
}
