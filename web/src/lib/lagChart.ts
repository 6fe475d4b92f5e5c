/** Geometry for the lag chart: points in time → an SVG path in a fixed viewBox. */
import type { LagPoint } from "../api/types";

export interface Series {
  times: number[];
  values: number[];
}

export function seriesFor(points: readonly LagPoint[], partition: string | null): Series {
  const times: number[] = [];
  const values: number[] = [];
  for (const point of points) {
    const at = new Date(point.at).getTime();
    if (Number.isNaN(at)) continue;
    const value = partition === null ? point.total : point.partitions[partition];
    if (value === undefined || value === null || !Number.isFinite(value)) continue;
    times.push(at);
    values.push(value);
  }
  return { times, values };
}

export interface Plot {
  path: string;
  maxValue: number;
  minTime: number;
  maxTime: number;
}

/** Fits a series into width×height (padding excluded by the caller); y grows downward. */
export function plotSeries(series: Series, width: number, height: number): Plot | null {
  const n = series.times.length;
  if (n === 0) return null;
  const minTime = Math.min(...series.times);
  const maxTime = Math.max(...series.times);
  // A flat zero line still needs a scale; 1 keeps it on the baseline.
  const maxValue = Math.max(1, ...series.values);
  const span = maxTime - minTime || 1;
  const commands = series.times.map((t, i) => {
    const x = n === 1 ? width : ((t - minTime) / span) * width;
    const y = height - ((series.values[i] ?? 0) / maxValue) * height;
    return `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return { path: commands.join(" "), maxValue, minTime, maxTime };
}

/** Keeps the newest points within the window (and at most `cap`, to bound memory). */
export function trimPoints(points: readonly LagPoint[], windowMs: number, now: number, cap: number): LagPoint[] {
  const from = now - windowMs;
  const kept = points.filter((p) => new Date(p.at).getTime() >= from);
  return kept.length > cap ? kept.slice(kept.length - cap) : kept;
}
