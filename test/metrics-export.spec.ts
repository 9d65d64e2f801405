import ExcelJS from 'exceljs';
import { execFileSync } from 'node:child_process';
import { http } from './support/factories';
import { buildOrganization, FixtureOrganization, NOW, organizationA, organizationB, parseCsv } from './support/metrics-fixture';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

// A spreadsheet would run this organization name as a formula if it were written as it is.
const FORMULA_NAME = '=HYPERLINK("http://evil.example","Academy")';
const STATISTICS = ['count', 'sum', 'min', 'max', 'mean', 'median', 'p95', 'p99', 'std_dev', 'slope_per_bucket', 'change_pct'];
const ALL_COLUMNS = [
  'active_users',
  'new_users',
  'content_created',
  'content_published',
  'avg_generation_time_s',
  'sessions',
  'avg_session_minutes',
  'lessons_completed',
  'assessments_submitted',
  'avg_score',
];

// Organization A's 7 days (11-14 … 11-20), one value per column above; worked out from the fixture rows.
const WEEK_ROWS: (number | null)[][] = [
  [1, 0, 0, 0, null, 0, null, 0, 0, null],
  [0, 0, 1, 1, 1.2, 0, null, 0, 0, null], // c1 created and published, 1200 ms
  [0, 0, 0, 0, null, 0, null, 0, 0, null],
  [1, 1, 0, 0, null, 1, 40, 1, 0, null], // u4 created; e9 2400 s; e10
  [0, 0, 1, 0, 2, 0, null, 0, 0, null], // c5 (deleted later) 2000 ms
  [2, 0, 0, 0, null, 1, 10, 1, 1, 60], // e6 600 s, e7, e8 60
  [3, 1, 2, 1, 3.4, 1, 30, 2, 1, 90], // c2 3400 ms and c6 (none); e1 1800 s; e2, e5; e3 90
];
const WEEK_SUMMARY: (number | null)[][] = [
  [7, 7, 0, 3, 1, 1, 2.7, 2.94, 1.07, 0.36, 400],
  [7, 2, 0, 1, 0.29, 0, 1, 1, 0.45, 0.11, null],
  [7, 4, 0, 2, 0.57, 0, 1.7, 1.94, 0.73, 0.18, 200],
  [7, 2, 0, 1, 0.29, 0, 1, 1, 0.45, 0.04, 0], // halves [0,1,0] and [0,0,1]
  [3, 6.6, 1.2, 3.4, 2.2, 2, 3.26, 3.37, 0.91, 0.43, 125], // points (1,1.2) (4,2) (6,3.4); halves 1.2 vs 2.7
  [7, 3, 0, 1, 0.43, 0, 1, 1, 0.49, 0.18, null],
  [3, 80, 10, 40, 26.67, 30, 39, 39.8, 12.47, -5, null], // points (3,40) (5,10) (6,30)
  [7, 4, 0, 2, 0.57, 0, 1.7, 1.94, 0.73, 0.29, null],
  [7, 2, 0, 1, 0.29, 0, 1, 1, 0.45, 0.18, null],
  [2, 150, 60, 90, 75, 75, 88.5, 89.7, 15, 30, null],
];
const DAYS = ['14', '15', '16', '17', '18', '19', '20'].map((day) => `2026-11-${day}T00:00:00.000Z`);

function binary(response: import('superagent').Response, callback: (error: Error | null, body: unknown) => void) {
  const stream = response as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
}

const text = (value: number | null) => (value === null ? '' : String(value));

describe('POST /api/v1/metrics/export', () => {
  let testApp: TestApp;
  let a: FixtureOrganization;

  beforeAll(async () => {
    testApp = await createTestApp({ clock: new ManualClock(NOW.getTime()) });
    a = await buildOrganization(testApp, organizationA(FORMULA_NAME));
    await buildOrganization(testApp, organizationB());
  });
  afterAll(() => testApp.close());

  const exportFile = (body: object, token = a.admin.token) => http(testApp).post('/api/v1/metrics/export').set('Authorization', `Bearer ${token}`).send(body);

  it('streams one tidy RFC 4180 CSV table: the header, then one row per day, nothing else', async () => {
    const response = await exportFile({ format: 'csv', date_range: '7d' }).expect(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="metrics-${a.slug}-7d-20261120.csv"`);
    expect(parseCsv(response.text)).toEqual([['bucket_start', ...ALL_COLUMNS], ...WEEK_ROWS.map((row, i) => [DAYS[i], ...row.map(text)])]);
    // CRLF record ends, no blank line and no summary block after the last day.
    expect(response.text.split('\r\n')).toHaveLength(WEEK_ROWS.length + 2);
    expect(response.text.endsWith('\r\n')).toBe(true);
    expect(response.text).not.toContain(FORMULA_NAME.slice(1));
    // Python's csv module reads exactly the 7 days, each keyed by the header, the first column an ISO 8601 instant.
    const python = readWithPython(response.text);
    expect(python.fieldnames).toEqual(['bucket_start', ...ALL_COLUMNS]);
    expect(python.rows).toEqual(WEEK_ROWS.map((row, i) => Object.fromEntries([['bucket_start', DAYS[i]], ...ALL_COLUMNS.map((column, c) => [column, text(row[c])])])));
    expect(python.parsedStarts).toEqual(DAYS.map((day) => day.replace('.000Z', '+00:00')));
  });

  it('writes JSON per hour for 24h with the chosen types, a summary object and the system figures', async () => {
    const response = await exportFile({ format: 'json', date_range: '24h', metric_types: ['users', 'system'] }).expect(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="metrics-${a.slug}-24h-20261120.json"`);
    const body = response.body;
    expect(body.organization).toEqual({ id: a.organizationId, name: FORMULA_NAME, slug: a.slug });
    // 24 whole UTC hours: 11-19 16:00 … 11-20 15:00 (the current hour, up to 15:30).
    expect(body).toMatchObject({ date_range: '24h', bucket: 'hour', since: '2026-11-19T16:00:00.000Z', generated_at: '2026-11-20T15:30:00.000Z' });
    expect(body.columns).toEqual(['active_users', 'new_users']);
    const active = Array<number>(24).fill(0);
    // 20:00 u4 (e6, e7); 09:00 u1 (e1, e2); 10:00 u3 (e3); 14:00 u5 (e4); 15:00 u3 (e5; e19 at 15:32 is after now)
    for (const i of [4, 17, 18, 22, 23]) active[i] = 1;
    const fresh = Array<number>(24).fill(0);
    fresh[16] = 1; // u5, created 11-20 08:00
    expect(body.rows).toEqual(
      active.map((users, i) => ({
        bucket_start: new Date(Date.parse('2026-11-19T16:00:00Z') + i * 3_600_000).toISOString(),
        active_users: users,
        new_users: fresh[i],
      })),
    );
    expect(body.rows.every((row: { bucket_start: string }) => row.bucket_start.endsWith(':00:00.000Z'))).toBe(true);
    expect(body.summary.active_users).toEqual({ count: 24, sum: 5, min: 0, max: 1, mean: 0.21, median: 0, p95: 1, p99: 1, std_dev: 0.41, slope_per_bucket: 0.02, change_pct: 300 });
    // σ = √(5/24 − (5/24)²) = 0.4061; slope = Σ(i − 11.5)·y / 1150 = (−7.5 + 5.5 + 6.5 + 10.5 + 11.5) / 1150 = 0.023;
    // halves: 1 (hour 4) then 4 → +300 %
    expect(body.summary.new_users).toMatchObject({ count: 24, sum: 1, max: 1, change_pct: null });
    expect(Object.keys(body.system)).toEqual([
      'api_p50_ms',
      'api_p95_ms',
      'api_p99_ms',
      'requests_last_5_minutes',
      'error_rate',
      'cache_hit_rate',
      'database_connections',
      'redis_memory_usage',
    ]);
    expect(body.system.cache_hit_rate).toBeNull();
    expect(body.system.error_rate).toBe(0); // every request so far succeeded
  });

  it('writes an xlsx workbook ("excel"): date cells with a date format, numbers as numbers, a frozen bold header, text as text', async () => {
    const response = await exportFile({ format: 'excel', date_range: '7d', metric_types: ['engagement', 'content', 'users'] })
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(response.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="metrics-${a.slug}-7d-20261120.xlsx"`);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.body as ArrayBuffer);
    expect(workbook.worksheets.map((sheet) => sheet.name)).toEqual(['metrics', 'summary']);
    const values = (sheet: ExcelJS.Worksheet) => sheet.getSheetValues().slice(1).map((row) => (Array.isArray(row) ? Array.from(row.slice(1), (cell) => cell ?? null) : []));
    // Columns follow the order of metric_types: engagement, content, users.
    const order = [5, 6, 7, 8, 9, 2, 3, 4, 0, 1];
    const sheet = workbook.getWorksheet('metrics')!;
    const metrics = values(sheet);
    expect(metrics[0]).toEqual(['bucket_start', ...order.map((i) => ALL_COLUMNS[i])]);
    expect(metrics.slice(1)).toEqual(WEEK_ROWS.map((row, i) => trimNulls([new Date(DAYS[i]), ...order.map((column) => row[column])])));
    for (let row = 2; row <= 8; row++) {
      expect(sheet.getCell(row, 1).type).toBe(ExcelJS.ValueType.Date);
      expect(sheet.getCell(row, 1).numFmt).toBe('yyyy-mm-dd hh:mm:ss');
    }
    expect(sheet.getCell(8, 2).type).toBe(ExcelJS.ValueType.Number); // sessions on 11-20
    expect(sheet.getCell(8, 3).value).toBe(30);
    expect(sheet.getRow(1).font?.bold).toBe(true);
    expect(sheet.getCell(1, 4).font?.bold).toBe(true);
    expect(sheet.views).toEqual([expect.objectContaining({ state: 'frozen', xSplit: 0, ySplit: 1 })]);

    const summarySheet = workbook.getWorksheet('summary')!;
    const summary = values(summarySheet);
    expect(summary.slice(0, 6)).toEqual([
      ['organization', FORMULA_NAME],
      ['organization_slug', a.slug],
      ['date_range', '7d'],
      ['bucket', 'day'],
      ['since', new Date('2026-11-14T00:00:00.000Z')],
      ['generated_at', new Date('2026-11-20T15:30:00.000Z')],
    ]);
    // The formula-like name is a text cell (no leading quote shown, never a formula).
    expect(summarySheet.getCell('B1').type).toBe(ExcelJS.ValueType.String);
    expect(summarySheet.getCell('B5').numFmt).toBe('yyyy-mm-dd hh:mm:ss');
    expect(summary[7]).toEqual(['metric', ...STATISTICS]);
    expect(summarySheet.getRow(8).font?.bold).toBe(true);
    expect(summary.slice(8)).toEqual(order.map((i) => trimNulls([ALL_COLUMNS[i], ...WEEK_SUMMARY[i]])));
    const noFormula: string[] = [];
    workbook.eachSheet((each) => each.eachRow((row) => row.eachCell((cell) => cell.type === ExcelJS.ValueType.Formula && noFormula.push(cell.address))));
    expect(noFormula).toEqual([]);
  });

  it('accepts the default metric types and 90 days', async () => {
    const response = await exportFile({ format: 'json', date_range: '90d' }).expect(200);
    expect(response.body.columns).toEqual(ALL_COLUMNS);
    expect(response.body.rows).toHaveLength(90);
    expect(response.body.rows[0].bucket_start).toBe('2026-08-23T00:00:00.000Z');
    expect(response.body.summary.lessons_completed.sum).toBe(6);
    expect(response.body.system).toBeNull();
  });
});

/** What Python's csv.DictReader reads from the file, and each first column parsed by datetime.fromisoformat. */
function readWithPython(csvText: string): { fieldnames: string[]; rows: Record<string, string>[]; parsedStarts: string[] } {
  const script = [
    'import csv, io, json, sys, datetime',
    "reader = csv.DictReader(io.StringIO(sys.stdin.read(), newline=''))",
    'rows = list(reader)',
    "starts = [datetime.datetime.fromisoformat(row['bucket_start'].replace('Z', '+00:00')).isoformat() for row in rows]",
    "print(json.dumps({'fieldnames': reader.fieldnames, 'rows': rows, 'parsedStarts': starts}))",
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: csvText, encoding: 'utf8' }));
}

/** exceljs reads a row back without its trailing empty cells. */
function trimNulls<T>(row: (T | null)[]): (T | null)[] {
  let end = row.length;
  while (end > 0 && row[end - 1] === null) end--;
  return row.slice(0, end);
}
