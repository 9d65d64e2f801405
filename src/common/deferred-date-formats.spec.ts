import { withDeferredDateFormats } from './deferred-date-formats';

describe('withDeferredDateFormats', () => {
  const Original = Intl.DateTimeFormat;
  let built: DateTimeFormatArgs[];

  type DateTimeFormatArgs = ConstructorParameters<typeof Intl.DateTimeFormat>;

  // Counts the formatters really built, as the real constructor.
  beforeEach(() => {
    built = [];
    const Counting = function DateTimeFormat(...args: DateTimeFormatArgs) {
      built.push(args);
      return new Original(...args);
    };
    Intl.DateTimeFormat = Object.assign(Counting, { prototype: Original.prototype, supportedLocalesOf: Original.supportedLocalesOf }) as unknown as typeof Intl.DateTimeFormat;
  });
  afterEach(() => {
    Intl.DateTimeFormat = Original;
  });

  const when = Date.UTC(2026, 11, 4, 19, 5, 7, 123);
  const cases: DateTimeFormatArgs[] = [
    [],
    [undefined, { year: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', day: '2-digit', month: '2-digit' }],
    ['de-DE', { dateStyle: 'full', timeStyle: 'long', timeZone: 'Europe/Berlin' }],
    ['en-US', { timeZone: 'UTC', hour12: false, fractionalSecondDigits: 3, hour: '2-digit', minute: '2-digit', second: '2-digit' }],
    ['ja-JP-u-ca-japanese', { era: 'long', year: 'numeric', timeZone: 'Asia/Tokyo' }],
  ];

  it.each(cases.map((args) => [JSON.stringify(args), args] as const))('builds nothing while loading, then formats as the real formatter does: %s', (_, args) => {
    const formatter = withDeferredDateFormats(() => new Intl.DateTimeFormat(...args));
    expect(built).toHaveLength(0);
    const real = new Original(...args);

    expect(formatter.format(when)).toBe(real.format(when));
    expect(built).toEqual([args]);
    // format is bound, as the real one is: Nest and others pass it around.
    const { format } = formatter;
    expect([when, when + 86_400_000].map(format)).toEqual([when, when + 86_400_000].map(real.format));
    expect(formatter.formatToParts(when)).toEqual(real.formatToParts(when));
    expect(formatter.formatRange(when, when + 3_600_000)).toBe(real.formatRange(when, when + 3_600_000));
    expect(formatter.formatRangeToParts(when, when + 3_600_000)).toEqual(real.formatRangeToParts(when, when + 3_600_000));
    expect(formatter.resolvedOptions()).toEqual(real.resolvedOptions());
    expect(built).toHaveLength(1);
    expect(formatter).toBeInstanceOf(Original);
  });

  it('defers formatters built without new, and leaves the real constructor in place afterwards', () => {
    const formatter = withDeferredDateFormats(() => (Intl.DateTimeFormat as unknown as (...args: DateTimeFormatArgs) => Intl.DateTimeFormat)('en-GB', { timeZone: 'UTC' }));
    expect(built).toHaveLength(0);
    expect(formatter.format(when)).toBe('04/12/2026');
    expect(built).toHaveLength(1);

    const after = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC' });
    expect(built).toHaveLength(2);
    expect(after.format(when)).toBe('04/12/2026');
  });

  it('puts the real constructor back when loading throws', () => {
    const Before = Intl.DateTimeFormat;
    expect(() =>
      withDeferredDateFormats(() => {
        throw new Error('a module failed to load');
      }),
    ).toThrow('a module failed to load');
    expect(Intl.DateTimeFormat).toBe(Before);
  });

  it('reports a bad option when the formatter is first used, as a RangeError', () => {
    const formatter = withDeferredDateFormats(() => new Intl.DateTimeFormat('en-US', { timeZone: 'Not/AZone' }));
    expect(() => formatter.format(when)).toThrow(RangeError);
  });

  it("loads Nest's logger modules without building a formatter, and Nest's logger still stamps its lines with one", () => {
    const loaded = withDeferredDateFormats(() => {
      let modules: { ConsoleLogger: typeof import('@nestjs/common').ConsoleLogger } | undefined;
      // A fresh evaluation, as at the service's start: the modules build their formatters at load.
      jest.isolateModules(() => {
        require('reflect-metadata');
        modules = { ConsoleLogger: (require('@nestjs/common/services/console-logger.service') as typeof import('@nestjs/common')).ConsoleLogger };
        require('@nestjs/common/services/logger.service');
      });
      return modules!;
    });
    expect(built).toHaveLength(0);

    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const now = jest.spyOn(Date, 'now').mockReturnValue(when);
    try {
      new loaded.ConsoleLogger('Probe', { colors: false }).log('hello');
    } finally {
      write.mockRestore();
      now.mockRestore();
    }
    expect(built).toHaveLength(1);
    const nests = new Original(undefined, { year: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', day: '2-digit', month: '2-digit' });
    expect(written.join('')).toBe(`[Nest] ${process.pid}  - ${nests.format(when)}     LOG [Probe] hello\n`);
  });
});
