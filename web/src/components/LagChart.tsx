/**
 * Lag over time as a plain SVG line, for the whole deployment or one partition.
 * The numbers are also given in words (current and peak), so the chart is not the only way to read them.
 */
import { useId, useState } from "react";
import type { LagPoint } from "../api/types";
import { formatCount, formatTime } from "../lib/format";
import { plotSeries, seriesFor } from "../lib/lagChart";
import { EmptyState } from "./States";

const WIDTH = 640;
const HEIGHT = 160;
const PAD_LEFT = 56;
const PAD_BOTTOM = 22;
const PAD_TOP = 8;

export function LagChart({ points, partitions }: { points: readonly LagPoint[]; partitions: readonly string[] }) {
  const [selected, setSelected] = useState<string>("");
  const selectId = useId();
  const series = seriesFor(points, selected === "" ? null : selected);
  const plot = plotSeries(series, WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP);
  const current = series.values.at(-1);
  const peak = series.values.length ? Math.max(...series.values) : undefined;
  const what = selected === "" ? "total lag" : `lag of ${selected}`;
  return (
    <div className="lag-chart" data-testid="lag-chart">
      <div className="inline-form">
        <label htmlFor={selectId}>Series</label>
        <select id={selectId} value={selected} onChange={(e) => setSelected(e.target.value)}>
          <option value="">Whole deployment (total)</option>
          {partitions.map((p) => (
            <option key={p} value={p}>
              Partition {p}
            </option>
          ))}
        </select>
      </div>
      {plot === null ? (
        <EmptyState title={`No lag samples for the ${what} in this window yet.`}>
          Points arrive with each live state update.
        </EmptyState>
      ) : (
        <>
          <p className="muted">
            {what}: now {formatCount(current)}, peak {formatCount(peak)} over {series.values.length} samples
          </p>
          <svg
            viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
            role="img"
            aria-label={`Line chart of ${what} from ${formatTime(new Date(plot.minTime).toISOString())} to ${formatTime(new Date(plot.maxTime).toISOString())}; now ${current}, peak ${peak}`}
            preserveAspectRatio="none"
          >
            <line x1={PAD_LEFT} x2={WIDTH} y1={HEIGHT - PAD_BOTTOM} y2={HEIGHT - PAD_BOTTOM} className="axis" />
            <line x1={PAD_LEFT} x2={PAD_LEFT} y1={PAD_TOP} y2={HEIGHT - PAD_BOTTOM} className="axis" />
            <text x={PAD_LEFT - 6} y={PAD_TOP + 10} textAnchor="end" className="tick">
              {formatCount(plot.maxValue)}
            </text>
            <text x={PAD_LEFT - 6} y={HEIGHT - PAD_BOTTOM} textAnchor="end" className="tick">
              0
            </text>
            <text x={PAD_LEFT} y={HEIGHT - 6} className="tick">
              {new Date(plot.minTime).toISOString().slice(11, 19)}
            </text>
            <text x={WIDTH} y={HEIGHT - 6} textAnchor="end" className="tick">
              {new Date(plot.maxTime).toISOString().slice(11, 19)} UTC
            </text>
            <g transform={`translate(${PAD_LEFT},${PAD_TOP})`}>
              <path d={plot.path} className="lag-line" fill="none" />
            </g>
          </svg>
        </>
      )}
    </div>
  );
}
