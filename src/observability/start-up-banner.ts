import type { AppConfig } from '../config/app-config.js';
import type { DemoStatus } from '../demo/demo-data.service.js';

/** The few lines a person starting the service needs: where to look, and how to log in to the demo. */
export function startUpBanner(config: AppConfig, port: number, demo: DemoStatus | null): string {
  const url = `http://localhost:${port}`;
  const storage = [
    config.embeddedDatabase ? `embedded PostgreSQL in ${config.EMBEDDED_DATA_DIR}` : 'PostgreSQL',
    config.REDIS_URL || config.REDIS_CLUSTER_URLS ? 'Redis' : 'cache and rate limits in process memory',
  ].join(', ');
  const lines = ['', `toolbox-metrics is running (${storage})`, '', `  Dashboard   ${url}/`, `  API docs    ${url}/docs`];
  if (demo?.password) {
    lines.push(`  Demo login  ${demo.email}  password ${demo.password}  (shown only this once)`);
  } else if (demo) {
    lines.push(
      `  Demo login  ${demo.email}  (the demo organization "${demo.organizationSlug}" already exists; its password was shown when it was created)`,
      `              a new password: npm run cli -- user:set-password ${demo.email}`,
    );
  }
  lines.push('', 'Stop with Ctrl+C.', '');
  return `${lines.join('\n')}\n`;
}
