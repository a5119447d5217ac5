// The little statistics the report needs. The machine drifts, so a spread is
// always quoted with its median: one number alone would claim a precision the
// runs do not have.

/** Nearest-rank percentile of an ascending array; undefined when empty. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many values the spread is made of (rounds). */
  n: number;
}

export function spread(values: number[]): Spread | null {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}
