import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SNAPSHOT_FILE, snapshotHostPaths } from './host-paths.mjs';

export default function recordHostPaths() {
  mkdirSync(dirname(SNAPSHOT_FILE), { recursive: true });
  writeFileSync(SNAPSHOT_FILE, JSON.stringify(snapshotHostPaths()));
}
