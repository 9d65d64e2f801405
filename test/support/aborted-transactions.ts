import { TenantTransactions } from '../../src/database/tenant-transactions';

/**
 * Records the error code of every transaction attempt that failed, until `restore()`. TenantTransactions runs a
 * transaction PostgreSQL aborted as a deadlock again silently, so a test that means "no deadlock" counts them here.
 */
export function recordFailedTransactions(): { aborted: string[]; restore: () => void } {
  const aborted: string[] = [];
  const prototype = TenantTransactions.prototype as never as { within: (...args: unknown[]) => Promise<unknown> };
  const original = prototype.within;
  const spy = jest.spyOn(prototype, 'within').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    try {
      return await original.apply(this, args);
    } catch (error) {
      aborted.push((error as { code?: string }).code ?? 'unknown');
      throw error;
    }
  });
  return { aborted, restore: () => spy.mockRestore() };
}
