import Sequencer from '@jest/test-sequencer';

const LAST = /host-paths\.last\.test\.ts$/;

// Jest's own order (slow suites first, from its cache), except the host-paths check, which must run last.
export default class LastCheckSequencer extends (Sequencer.default ?? Sequencer) {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter((test) => !LAST.test(test.path)), ...sorted.filter((test) => LAST.test(test.path))];
  }
}
