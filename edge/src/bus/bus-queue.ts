/**
 * One owner per physical bus: every request on an RS-485 line (or a Modbus TCP connection) goes
 * through this queue, so exactly one transaction is in flight. Commands (writes, read_now) jump the
 * queue; polls wait their turn in order.
 */
export class BusQueue {
  private readonly jobs: Array<() => Promise<void>> = [];
  private running = false;
  private closed = false;

  constructor(readonly busId: string) {}

  get length(): number {
    return this.jobs.length;
  }

  run<T>(job: () => Promise<T>, opts: { priority?: boolean } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`bus ${this.busId} is closed`));
    return new Promise<T>((resolve, reject) => {
      const wrapped = () => job().then(resolve, reject);
      if (opts.priority) this.jobs.unshift(wrapped);
      else this.jobs.push(wrapped);
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
        await job().catch(() => undefined);
      }
    } finally {
      this.running = false;
    }
  }

  close(): void {
    this.closed = true;
    this.jobs.length = 0;
  }
}
