type DateTimeFormatArgs = ConstructorParameters<typeof Intl.DateTimeFormat>;

/**
 * Runs `load` with `Intl.DateTimeFormat` answering formatters that build the real one on first use, then puts the
 * real constructor back (even when `load` throws). Nest's two logger modules each build a formatter when they load,
 * and the first formatter a process builds reads ~8–9 MB of ICU data from the node binary into resident memory for
 * good; the service logs through pino, so Nest's formatters are used only if Nest itself prints (they then build the
 * real one and format exactly as it would).
 */
export function withDeferredDateFormats<T>(load: () => T): T {
  const Real = Intl.DateTimeFormat;
  const Deferred = deferredDateTimeFormat(Real);
  Intl.DateTimeFormat = Deferred;
  try {
    return load();
  } finally {
    // Only ours is replaced: a constructor someone else installed meanwhile stays.
    if (Intl.DateTimeFormat === Deferred) Intl.DateTimeFormat = Real;
  }
}

/** A stand-in for `Real` (callable with or without new, as Intl.DateTimeFormat is) whose instances are `instanceof Real`. */
function deferredDateTimeFormat(Real: typeof Intl.DateTimeFormat): typeof Intl.DateTimeFormat {
  class DeferredDateTimeFormat {
    #args: DateTimeFormatArgs;
    #real: Intl.DateTimeFormat | undefined;

    constructor(args: DateTimeFormatArgs) {
      this.#args = args;
    }

    private get real(): Intl.DateTimeFormat {
      return (this.#real ??= new Real(...this.#args));
    }

    // Intl.DateTimeFormat's format is a getter returning a function bound to its formatter.
    get format(): Intl.DateTimeFormat['format'] {
      return this.real.format;
    }

    formatToParts(date?: Date | number): Intl.DateTimeFormatPart[] {
      return this.real.formatToParts(date);
    }

    formatRange(start: Date | number | bigint, end: Date | number | bigint): string {
      return this.real.formatRange(start as Date, end as Date);
    }

    formatRangeToParts(start: Date | number | bigint, end: Date | number | bigint): Intl.DateTimeRangeFormatPart[] {
      return this.real.formatRangeToParts(start as Date, end as Date);
    }

    resolvedOptions(): Intl.ResolvedDateTimeFormatOptions {
      return this.real.resolvedOptions();
    }
  }
  Object.setPrototypeOf(DeferredDateTimeFormat.prototype, Real.prototype);
  const construct = function DateTimeFormat(...args: DateTimeFormatArgs) {
    return new DeferredDateTimeFormat(args);
  };
  return Object.assign(construct, { prototype: Real.prototype, supportedLocalesOf: Real.supportedLocalesOf }) as unknown as typeof Intl.DateTimeFormat;
}
