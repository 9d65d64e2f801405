/**
 * A user's active days as users.active_days holds them (bit k from the left is active_from + k), aggregated over that
 * user's distinct days: columns `day` and `previous_day` (the user's day before it, by lag; NULL for the first).
 */
export const ACTIVE_DAYS_BITS = `string_agg(CASE WHEN previous_day IS NULL THEN '1' ELSE repeat('0', day - previous_day - 1) || '1' END, '' ORDER BY day)::varbit`;
