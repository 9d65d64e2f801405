import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PrometheusExporter } from '../src/observability/prometheus-exporter';
import { http } from './support/factories';
import { createTestApp } from './support/test-app';

/**
 * A closed app leaves nothing of itself reachable from the process: anything global that keeps a reference (an
 * observer, a listener, a timer) would keep every app a process ever made — each test file's, each restart's.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

async function collectedAfterClose(): Promise<{ registry: WeakRef<object>; dataSource: WeakRef<object> }> {
  const app = await createTestApp();
  // Requests first, so that what a request touches (timers, sockets, caches) has been used.
  await http(app).get('/health/live').expect(200);
  await http(app).get('/metrics').expect(200);
  const refs = { registry: new WeakRef(app.app.get(PrometheusExporter).registry), dataSource: new WeakRef(app.dataSource) };
  await app.close();
  return refs;
}

it('is collected once closed: its metrics registry and its database connection with it', async () => {
  const refs = await collectedAfterClose();
  // Weak references are cleared by a collection after the turn that made them; a few rounds let pending work end.
  for (let round = 0; round < 5 && (refs.registry.deref() || refs.dataSource.deref()); round++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    collectGarbage();
  }
  expect({ registry: refs.registry.deref() === undefined, dataSource: refs.dataSource.deref() === undefined }).toEqual({ registry: true, dataSource: true });
});
