import { parse, type ParsedUrlQuery } from 'node:querystring';

/** Characters that make Express's URL parser (parseurl) take its slow, different road: such requests are left to it. */
const UNUSUAL = /[\t\n\f\r #\u00a0\ufeff]/;

export interface RequestTarget {
  path: string;
  query: ParsedUrlQuery;
}

/**
 * The path and query of a request target as Express 5 reads them: the path up to the first "?", the rest parsed
 * by its default "simple" query parser, node:querystring (a repeated parameter becomes an array). Null when
 * parseurl would not take its fast road, so the request is left to Express.
 */
export function readRequestTarget(url: string): RequestTarget | null {
  if (url.charCodeAt(0) !== 0x2f /* / */ || UNUSUAL.test(url)) return null;
  const mark = url.indexOf('?');
  if (mark < 0) return { path: url, query: parse('') };
  return { path: url.slice(0, mark), query: parse(url.slice(mark + 1)) };
}
