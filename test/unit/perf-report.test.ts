// The node write profile reads `perf report --no-children --sort sym --stdio`: its symbol lines,
// kernel ones marked, in the order perf printed them (highest share first).
import { describe, expect, it } from 'vitest';
import { topSymbols } from '../../bench/nbd-diagnose.js';

const REPORT = `# Samples: 12K of event 'cpu-clock:pppH'
#
# Overhead  Symbol
# ........  ......................................
#
    21.50%  [k] finish_task_switch.isra.0
            |
            ---finish_task_switch.isra.0
     7.25%  [.] Builtins_KeyedLoadIC_Megamorphic
     0.04%  [.] LazyCompile:*apply /work/main/dist/storage-node/store/volume.js:95
`;

describe('topSymbols', () => {
  it('takes the symbol lines with their share, kernel ones marked, and stops at n', () => {
    expect(topSymbols(REPORT, 10)).toEqual([
      { symbol: '[kernel] finish_task_switch.isra.0', share: 0.215 },
      { symbol: 'Builtins_KeyedLoadIC_Megamorphic', share: 0.0725 },
      { symbol: 'LazyCompile:*apply /work/main/dist/storage-node/store/volume.js:95', share: 0.0004 },
    ]);
    expect(topSymbols(REPORT, 1)).toHaveLength(1);
    expect(topSymbols('', 5)).toEqual([]);
  });
});
