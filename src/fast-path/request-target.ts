import { parse, type ParsedUrlQuery } from 'node:querystring';

/** Characters that make Express's URL parser (parseurl) take its slow, different road: such requests are left to it. */
const UNUSUAL = /[\t\n\f\r #\u00a0\ufeff]/;

export interface RequestTarget {
  path: string;
  /** Everything after the first "?" ('' without one). */
  rawQuery: string;
}

/**
 * The path and raw query of a request target as Express 5 splits them (parseurl's fast road): the path up to the
 * first "?", the rest the query. Null when parseurl would not take its fast road, so the request is left to Express.
 */
export function readRequestTarget(url: string): RequestTarget | null {
  if (url.charCodeAt(0) !== 0x2f /* / */ || UNUSUAL.test(url)) return null;
  const mark = url.indexOf('?');
  return mark < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, mark), rawQuery: url.slice(mark + 1) };
}

/** A raw query as Express 5's default "simple" query parser reads it: node:querystring (a repeated parameter becomes an array). */
export function parseQuery(rawQuery: string): ParsedUrlQuery {
  return parse(rawQuery);
}
