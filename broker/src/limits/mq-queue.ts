import { emitterQueues } from '../aedes-adapter';

/**
 * A FIFO with O(1) shift. mqemitter queues messages beyond its concurrency in plain arrays and takes them with
 * Array#shift, which V8 cannot do in place once an array lives in large-object space (~16k+ entries): under
 * a fan-in burst (aedes dispatches every packet of a socket read at once) the queue reaches that size and
 * each shift copies it, so delivery turns quadratic. Same interface as the arrays it replaces.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = new Array(1024);
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(item: T): number {
    if (this.tail === this.items.length) {
      const live = this.length;
      if (live * 2 <= this.items.length) {
        this.items.copyWithin(0, this.head, this.tail); // compact: plenty of room at the front
      } else {
        this.items = this.items.slice(this.head, this.tail).concat(new Array(this.items.length));
      }
      this.items.fill(undefined, live);
      this.head = 0;
      this.tail = live;
    }
    this.items[this.tail++] = item;
    return this.length;
  }

  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.tail) this.head = this.tail = 0;
    return item;
  }
}

/** Swaps an mqemitter's (or mqemitter-redis') internal queues for Fifos; call before any message is emitted. */
export function useFifoQueues(mq: unknown): void {
  const queues = emitterQueues(mq);
  if (!queues) return; // internals changed: keep theirs
  const [messages, callbacks] = queues.get();
  if (messages.length || callbacks.length) return;
  queues.set(new Fifo<unknown>() as unknown as unknown[], new Fifo<unknown>() as unknown as unknown[]);
}
