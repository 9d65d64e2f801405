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

/** The summary sheet of the xlsx: file facts, one row per column's statistics, system figures. */
function summaryRows(table: ExportTable): (Cell | Date)[][] {
  return [
    ['organization', table.organization.name],
    ['organization_slug', table.organization.slug],
    ['date_range', table.date_range],
    ['bucket', table.bucket],
    ['since', new Date(table.since)],
    ['generated_at', new Date(table.generated_at)],
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

/**
 * One tidy RFC 4180 table (CRLF line ends, csv-stringify quoting): the header, then one row per bucket
 * starting with its ISO 8601 start. The summary lives in the JSON and the xlsx summary sheet, not here.
 */
export async function writeCsv(table: ExportTable, stream: Writable): Promise<void> {
  const csv = stringify({ record_delimiter: 'windows', cast: { number: (value) => String(value) } });
  csv.pipe(stream);
  const records: Cell[][] = [['bucket_start', ...table.columns], ...table.rows.map((row) => [row.bucket_start, ...row.values])];
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

const DATE_FORMAT = 'yyyy-mm-dd hh:mm:ss';
const FROZEN_HEADER = [{ state: 'frozen' as const, xSplit: 0, ySplit: 1 }];

/**
 * exceljs's streaming writer: sheet "metrics" with the rows, sheet "summary" with the summary block.
 * Bucket starts are date cells (UTC) with a date format, numbers are numbers, the header row is bold and
 * frozen. Text is always written as a text cell, never a formula, so it needs no visible escape character.
 */
export async function writeXlsx(table: ExportTable, stream: Writable): Promise<void> {
  const workbook = new (loadExcel().stream.xlsx.WorkbookWriter)({ stream, useStyles: true, useSharedStrings: false });
  const data = workbook.addWorksheet('metrics', { views: FROZEN_HEADER });
  data.columns = [{ width: 20 }, ...table.columns.map((column) => ({ width: Math.max(10, column.length + 2) }))];
  const header = data.addRow(['bucket_start', ...table.columns]);
  header.font = { bold: true };
  header.commit();
  for (const values of table.rows) {
    const row = data.addRow([new Date(values.bucket_start), ...values.values]);
    row.getCell(1).numFmt = DATE_FORMAT;
    row.commit();
  }
  data.commit();
  const summary = workbook.addWorksheet('summary');
  summary.columns = [{ width: 24 }, { width: 20 }];
  for (const cells of summaryRows(table)) {
    const row = summary.addRow(cells);
    if (cells[0] === 'metric' || cells[0] === 'system_metric') row.font = { bold: true };
    if (cells[1] instanceof Date) row.getCell(2).numFmt = DATE_FORMAT;
    row.commit();
  }
  summary.commit();
  await workbook.commit();
  await finished(stream);
}

export const EXPORT_WRITERS: Record<ExportFormat, (table: ExportTable, stream: Writable) => Promise<void>> = {
  json: writeJson,
  csv: writeCsv,
  xlsx: writeXlsx,
};
