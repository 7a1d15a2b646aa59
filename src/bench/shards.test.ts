import { formatFailover, parseShardArgs, type ShardBenchResult } from './shards.js';

describe('bench:shards --failover', () => {
  it('runs three replicas whatever --replicas says, and refuses unknown flags', () => {
    expect(parseShardArgs(['--failover', '--replicas', '1,4', '--kubernetes', 'real,embedded'])).toMatchObject({ failover: true, replicas: [3], kubernetes: ['real', 'embedded'] });
    expect(parseShardArgs([]).failover).toBe(false);
    expect(() => parseShardArgs(['--kill'])).toThrow('unknown flag --kill');
  });

  it('puts the moved canaries next to the bound and to the canaries that did not move', () => {
    const a = parseShardArgs(['--failover']);
    const q = (p50: number, p99: number, n: number) => ({ p50, p99, max: p99, n });
    const r: ShardBenchResult = {
      kubernetes: 'real',
      count: 300,
      replicas: 3,
      shards: 32,
      loadAverage: '1.0 / 2.0 / 3.0',
      allStartedMs: 1000,
      windowSec: 0,
      rows: [],
      failover: { shards: 13, canaries: 117, shardsMovedSec: 18.4, moved: q(19.3, 21.4, 117), stayed: q(6.9, 10.4, 183), missing: 0, boundSec: 25 },
    };
    expect(formatFailover([r], a).split('\n').at(-1)).toBe('| kube-apiserver | 1.0 / 2.0 / 3.0 | 13 / 117 | 18.4 | 19.3 / 21.4 / 21.4 (117) | 25 | 6.9 / 10.4 / 10.4 (183) | 0 |');
  });
});
