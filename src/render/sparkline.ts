/** A one-line chart of a series, lowest value ▁ to highest █, for terminals and logs. */

const BARS = '▁▂▃▄▅▆▇█';

/**
 * One bar per value, or, for a longer series, one per bucket of consecutive values
 * (averaged) so that the line is at most `width` bars. Non-finite values are left out;
 * a flat series is drawn at mid height.
 */
export function sparkline(series: readonly number[], width = 60): string {
  const values = bucketMeans(series.filter(Number.isFinite), width);
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (max === min) return BARS[3].repeat(values.length);
  return values.map((v) => BARS[Math.round(((v - min) / (max - min)) * (BARS.length - 1))]).join('');
}

function bucketMeans(values: number[], width: number): number[] {
  if (values.length <= width) return values;
  return Array.from({ length: width }, (_, k) => {
    const bucket = values.slice(Math.floor((k * values.length) / width), Math.floor(((k + 1) * values.length) / width));
    return bucket.reduce((a, b) => a + b, 0) / bucket.length;
  });
}
