import { Worker } from 'node:worker_threads';
import type { GatePolicy } from '../../core/certificate-gate.js';
import { ChainCertificateCache } from '../../core/chain-certificate-cache.js';
import { assessLineage, type LineageVerdict } from './assess-lineage.js';
import { readLineage } from './read-lineage.js';

/** Reads a lineage in full and judges it (readLineage + assessLineage, gate included). */
export interface LineageAssessor {
  assess(name: string, now: Date): Promise<LineageVerdict>;
  close(): Promise<void>;
}

export interface AssessorSettings {
  readonly letsencryptDir: string;
  readonly letsencryptRealDir: string;
  readonly policy: GatePolicy;
}

/** In the calling thread. */
export function inlineAssessor(settings: AssessorSettings): LineageAssessor {
  const chainCache = new ChainCertificateCache();
  return {
    assess: async (name, now) => assessLineage(readLineage(settings.letsencryptDir, settings.letsencryptRealDir, name), now, settings.policy, chainCache),
    close: async () => undefined,
  };
}

/**
 * In a worker thread. Parsing a private key costs about 0.5 ms in OpenSSL 3.0 and a certificate 0.1 ms; done on the
 * main thread for thousands of renewals, it delays every runtime API reply the target's serial slot waits for. In a
 * worker, the main thread stays free to keep HAProxy busy. The worker starts on first use and ends after
 * `idleMs` without work: a daemon whose lineages are all in sync carries no second isolate.
 */
export function workerAssessor(settings: AssessorSettings, idleMs = 30_000): LineageAssessor {
  let worker: Worker | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  const waiting = new Map<number, { resolve: (value: LineageVerdict) => void; reject: (error: Error) => void }>();
  let nextId = 0;

  const failAll = (error: Error): void => {
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  };
  const start = (): Worker => {
    const started = new Worker(new URL('./assess-worker.js', import.meta.url), { workerData: settings });
    started.on('message', (message: { id: number; result?: LineageVerdict; error?: string }) => {
      const entry = waiting.get(message.id);
      waiting.delete(message.id);
      if (!entry) return;
      if (message.result) entry.resolve(message.result);
      else entry.reject(new Error(message.error ?? 'the lineage worker failed'));
    });
    started.on('error', (error) => failAll(error));
    started.on('exit', (code) => {
      if (worker === started) worker = undefined;
      if (waiting.size > 0) failAll(new Error(`the lineage worker exited with code ${code}`));
    });
    return started;
  };
  const stopWhenIdle = (): void => {
    clearTimeout(idleTimer);
    if (waiting.size > 0) return;
    idleTimer = setTimeout(() => {
      const idle = worker;
      worker = undefined;
      void idle?.terminate();
    }, idleMs);
    idleTimer.unref();
    worker?.unref();
  };

  return {
    assess: (name, now) => {
      clearTimeout(idleTimer);
      worker ??= start();
      worker.ref();
      const current = worker;
      const id = nextId++;
      return new Promise<LineageVerdict>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        current.postMessage({ id, name, nowMs: now.getTime() });
      }).finally(stopWhenIdle);
    },
    close: async () => {
      clearTimeout(idleTimer);
      const running = worker;
      worker = undefined;
      await running?.terminate();
    },
  };
}
