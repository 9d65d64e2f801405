import { Injectable } from '@nestjs/common';

type Listener = (organizationId: string) => void | Promise<void>;

/**
 * Writes announce "this organization's data changed" after they commit; the metrics cache listens
 * and moves the organization's generation, so the next read recomputes. Writers need not know the cache.
 */
@Injectable()
export class ChangeNotifier {
  private readonly listeners: Listener[] = [];

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
  }

  async notify(organizationId: string): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener(organizationId)));
  }
}
