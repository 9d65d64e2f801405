import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type ExcelJSModule from 'exceljs';
import type { ExportTable } from './export-table.js';
import { SUMMARY_STATISTICS } from './export-table.js';
import { escapeFormula } from './formula-escape.js';

export type ExportFormat = 'json' | 'csv' | 'xlsx';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

type Cell = string | number | null;

/** The summary block shared by CSV and xlsx: file facts, one row per column's statistics, system figures. */
function summaryRows(table: ExportTable): Cell[][] {
  return [
    ['organization', table.organization.name],
    ['organization_slug', table.organization.slug],
    ['date_range', table.date_range],
    ['bucket', table.bucket],
    ['since', table.since],
    ['generated_at', table.generated_at],
    [],
    ['metric', ...SUMMARY_STATISTICS],
    ...table.columns.map((column) => [column, ...SUMMARY_STATISTICS.map((statistic) => table.summary[column][statistic])]),
    ...(table.system ? [[], ['system_metric', 'value'], ...Object.entries(table.system).map(([name, value]) => [name, value])] : []),
  ];
}

/** Resolves when a full buffer drains, or when the client went away (finished() then reports it). */
function drained(stream: Writable): Promise<unknown> {
  return Promise.race([once(stream, 'drain'), once(stream, 'close')]);
}

/** Writes a chunk, waiting for the stream to drain when its buffer is full. */
async function write(stream: Writable, chunk: string): Promise<void> {
  if (stream.destroyed) return;
  if (!stream.write(chunk)) await drained(stream);
}

/** The JSON document written piece by piece: header fields, one row at a time, then the summary. */
export async function writeJson(table: ExportTable, stream: Writable): Promise<void> {
  const { rows, columns, ...head } = table;
  const { summary, system, ...facts } = head;
  await write(stream, `${JSON.stringify({ ...facts, columns }).slice(0, -1)},"rows":[`);
  for (const [index, row] of rows.entries()) {
    const record = Object.fromEntries([['bucket_start', row.bucket_start], ...columns.map((column, i) => [column, row.values[i]])]);
    await write(stream, `${index === 0 ? '' : ','}${JSON.stringify(record)}`);
  }
  await write(stream, `],"summary":${JSON.stringify(summary)},"system":${JSON.stringify(system)}}`);
  if (!stream.destroyed) stream.end();
  await finished(stream);
}

/** Data rows, a blank line, then the summary block; csv-stringify does the quoting. */
export async function writeCsv(table: ExportTable, stream: Writable): Promise<void> {
  const csv = stringify({ cast: { number: (value) => String(value) } });
  csv.pipe(stream);
  const records: Cell[][] = [
    ['bucket_start', ...table.columns],
    ...table.rows.map((row) => [row.bucket_start, ...row.values]),
    [],
    ...summaryRows(table),
  ];
  for (const record of records) {
    if (stream.destroyed) break;
    if (!csv.write(record.map(escapeFormula))) await Promise.race([drained(csv), drained(stream)]);
  }
  csv.end();
  await finished(stream);
}

let excel: typeof ExcelJSModule | undefined;

/** exceljs on the first xlsx export: 28 MB of resident memory that an instance serving dashboards never needs. */
function loadExcel(): typeof ExcelJSModule {
  excel ??= require('exceljs') as typeof ExcelJSModule;
  return excel;
}

/** exceljs's streaming writer: sheet "metrics" with the rows, sheet "summary" with the summary block. */
export async function writeXlsx(table: ExportTable, stream: Writable): Promise<void> {
  const workbook = new (loadExcel().stream.xlsx.WorkbookWriter)({ stream, useStyles: false, useSharedStrings: false });
  const data = workbook.addWorksheet('metrics');
  data.addRow(['bucket_start', ...table.columns]).commit();
  for (const row of table.rows) data.addRow([row.bucket_start, ...row.values].map(escapeFormula)).commit();
  data.commit();
  const summary = workbook.addWorksheet('summary');
  for (const row of summaryRows(table)) summary.addRow(row.map(escapeFormula)).commit();
  summary.commit();
  await workbook.commit();
  await finished(stream);
}

export const EXPORT_WRITERS: Record<ExportFormat, (table: ExportTable, stream: Writable) => Promise<void>> = {
  json: writeJson,
  csv: writeCsv,
  xlsx: writeXlsx,
};
