import { Injectable } from '@nestjs/common';

/** The service's notion of now; tests replace it to move time without waiting. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }

  date(): Date {
    return new Date(this.now());
  }
}
