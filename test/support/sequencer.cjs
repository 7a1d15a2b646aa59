// Longest end-to-end files first, so the slowest one is not the last to start on a fresh clone
// (jest orders by file size when it has no timings yet). Unit tests keep jest's order.
const Sequencer = require('@jest/test-sequencer').default;

const SLOW = ['sequential-sandbox', 'faults-kill', 'operate-cli', 'rollout', 'faults-prometheus', 'sandbox-cli', 'scenarios-analysis', 'hooks-rollout', 'faults-api'];

function rank(path) {
  const i = SLOW.findIndex((name) => path.endsWith(`/${name}.test.ts`));
  return i === -1 ? SLOW.length : i;
}

class SlowFirst extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path));
  }
}

module.exports = SlowFirst;
