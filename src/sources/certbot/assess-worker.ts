import { parentPort, workerData } from 'node:worker_threads';
import { inlineAssessor, type AssessorSettings } from './lineage-assessor.js';

// The worker side of workerAssessor: the same inline assessment, one request at a time, answered by id.
const assessor = inlineAssessor(workerData as AssessorSettings);

parentPort?.on('message', (message: { id: number; name: string; nowMs: number }) => {
  assessor.assess(message.name, new Date(message.nowMs)).then(
    (result) => parentPort?.postMessage({ id: message.id, result }),
    (error: unknown) => parentPort?.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
