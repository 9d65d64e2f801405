// Runs in every worker before its test files: quiet logs unless asked for.
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'silent';
