/**
 * The tables the bench prints: one row per system, one column per measure
 * of the table's workloads, then rows of ratios between systems.
 *
 * @module
 */

import type { Metric, WorkloadId } from "./workloads.ts";

/** A system's measures, per workload; missing where it has no such shape. */
export type Measures = Partial<
  Record<WorkloadId, Partial<Record<Metric, number>>>
>;

/** One row of measures. */
export interface SystemRow {
  readonly id: string;
  readonly label: string;
  readonly measures: Measures;
}

/** One row of ratios: `over`'s measures divided by `under`'s. */
export interface RatioRow {
  readonly over: string;
  readonly under: string;
  /** The workloads the ratio is shown for. */
  readonly workloads: readonly WorkloadId[];
}

interface Column {
  readonly title: string;
  readonly workload: WorkloadId;
  readonly metric: Metric;
  readonly fractionDigits: number;
}

const COLUMNS: readonly Column[] = [
  {
    title: "W1 calls/s",
    workload: "w1",
    metric: "callsPerSecond",
    fractionDigits: 0,
  },
  { title: "W1 p50 µs", workload: "w1", metric: "p50Us", fractionDigits: 1 },
  { title: "W1 p99 µs", workload: "w1", metric: "p99Us", fractionDigits: 1 },
  {
    title: "W2 calls/s",
    workload: "w2",
    metric: "callsPerSecond",
    fractionDigits: 0,
  },
  {
    title: "W3 MB/s",
    workload: "w3",
    metric: "payloadMBPerSecond",
    fractionDigits: 0,
  },
  {
    title: "W3×4 MB/s",
    workload: "w3x4",
    metric: "payloadMBPerSecond",
    fractionDigits: 0,
  },
  {
    title: "W4 calls/s",
    workload: "w4",
    metric: "callsPerSecond",
    fractionDigits: 0,
  },
  { title: "W4 p99 µs", workload: "w4", metric: "p99Us", fractionDigits: 0 },
  {
    title: "W5 items/s",
    workload: "w5",
    metric: "itemsPerSecond",
    fractionDigits: 0,
  },
  {
    title: "W5b MB/s",
    workload: "w5b",
    metric: "payloadMBPerSecond",
    fractionDigits: 0,
  },
];

const MISSING = "—";

/**
 * Lays a table out as aligned plain text: every system, and the ratio rows
 * that name one of the table's workloads.
 *
 * @param systems The rows of measures.
 * @param ratios The rows of ratios, by system id.
 * @param workloads The workloads whose columns the table shows.
 * @param title The header of the first column.
 * @returns The table, without a trailing newline.
 */
export function renderTable(
  systems: readonly SystemRow[],
  ratios: readonly RatioRow[],
  workloads: readonly WorkloadId[],
  title = "system",
): string {
  const byId = new Map(systems.map((system) => [system.id, system]));
  const columns = COLUMNS.filter((column) =>
    workloads.includes(column.workload)
  );
  const rows: string[][] = [[title, ...columns.map((c) => c.title)]];
  for (const system of systems) {
    rows.push([
      system.label,
      ...columns.map((column) =>
        formatNumber(measure(system, column), column.fractionDigits)
      ),
    ]);
  }
  const firstRatioRow = rows.length;
  for (const ratio of ratios) {
    if (!ratio.workloads.some((workload) => workloads.includes(workload))) {
      continue;
    }
    const top = byId.get(ratio.over)!;
    const bottom = byId.get(ratio.under)!;
    rows.push([
      `${top.label} ÷ ${bottom.label}`,
      ...columns.map((column) =>
        ratio.workloads.includes(column.workload)
          ? formatRatio(measure(top, column), measure(bottom, column))
          : MISSING
      ),
    ]);
  }
  const lines = alignRows(rows);
  if (lines.length > firstRatioRow) lines.splice(firstRatioRow, 0, "");
  return lines.join("\n");
}

/**
 * Lays rows of cells out in columns: the first column left-aligned, the
 * others right-aligned.
 *
 * @param rows The cells, the same number in every row.
 * @returns One line per row.
 */
export function alignRows(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((row) => row[i].length))
  );
  return rows.map((row) =>
    row.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])
    ).join("   ").trimEnd()
  );
}

function measure(system: SystemRow, column: Column): number | undefined {
  return system.measures[column.workload]?.[column.metric];
}

/**
 * Formats a number with thousands separators, or a dash when missing.
 *
 * @param value The number.
 * @param fractionDigits Digits after the point.
 * @returns The text.
 */
export function formatNumber(
  value: number | undefined,
  fractionDigits: number,
): string {
  if (value === undefined || !Number.isFinite(value)) return MISSING;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: fractionDigits,
    maximumFractionDigits: fractionDigits,
  });
}

function formatRatio(
  over: number | undefined,
  under: number | undefined,
): string {
  if (over === undefined || under === undefined || !(under > 0)) {
    return MISSING;
  }
  return `${(over / under).toFixed(2)}×`;
}
