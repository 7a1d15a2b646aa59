/** The instants a replay judges: from, from + interval, ... up to `to`. Whole milliseconds. */
export interface Grid {
  start: number;
  stepMs: number;
  count: number;
}

export function makeGrid(from: number, to: number, stepMs: number): Grid {
  return { start: from, stepMs, count: Math.floor((to - from) / stepMs) + 1 };
}

export function gridTime(grid: Grid, i: number): number {
  return grid.start + i * grid.stepMs;
}

/** Index of `t` on the grid, or undefined when `t` is not one of its instants. */
export function gridIndex(grid: Grid, t: number): number | undefined {
  const k = (t - grid.start) / grid.stepMs;
  return Number.isInteger(k) && k >= 0 && k < grid.count ? k : undefined;
}
