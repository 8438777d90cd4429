import type { LiveChannel, LiveMessage } from '../api/types';

export type FeedStatus = 'connecting' | 'open' | 'closed';
export interface FeedState {
  status: FeedStatus;
  /** Client time of the last frame of any kind (pings included): the feed is alive. */
  lastFrameAt: number | null;
  /** When closed: client time of the next reconnect attempt. */
  retryAt: number | null;
  /** serverTime − client time, from hello/ping frames; used to compare reading timestamps honestly. */
  clockOffsetMs: number;
}

type Listener = (msg: LiveMessage) => void;

const PING_INTERVAL_MS = 10_000;
/** No frame at all (not even a ping) for this long: the socket is dead even if the browser hasn't noticed. */
const DEAD_AFTER_MS = PING_INTERVAL_MS * 2.5;
/** Data frames move `lastFrameAt`; views hear of it at most this often (staleness is judged in seconds). */
const QUIET_NOTIFY_MS = 1000;
/** Frames held for views not yet mounted: at most this many (the oldest go first), for at most this long. */
const MAX_HELD = 2000;
const HOLD_AT_MOST_MS = 15_000;

/** Exponential backoff with full jitter, 1 s → 30 s. */
export function reconnectDelay(attempt: number, baseMs = 1000, maxMs = 30_000): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 10));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/**
 * One WebSocket for the whole page. Views subscribe to the channels they show; the union is sent to the
 * server on every change and after every reconnect.
 */
export class LiveFeed {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private subscriptions = new Map<number, { channels: LiveChannel[]; listener: Listener }>();
  private stateListeners = new Set<() => void>();
  private nextId = 1;
  private notifiedAt = 0;
  private stopped = true;
  /** Channels asked for at boot, and the frames of them that arrived before any view listened (see `start`). */
  private early: { channels: LiveChannel[]; held: LiveMessage[]; timer: ReturnType<typeof setTimeout> } | null = null;
  state: FeedState = { status: 'closed', lastFrameAt: null, retryAt: null, clockOffsetMs: 0 };

  constructor(private readonly url: () => string) {}

  /**
   * Opens the socket. `earlyChannels`: the channels the page's first view will listen to, subscribed now; what
   * arrives on them before that view mounts is held and handed to the views subscribing first (those mounting
   * in the same turn), so its first render shows the live values and misses nothing since the page was served.
   */
  start(earlyChannels: LiveChannel[] = []): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (earlyChannels.length > 0)
      this.early = { channels: earlyChannels, held: [], timer: setTimeout(() => this.endEarly(), HOLD_AT_MOST_MS) };
    this.connect();
    this.watchdog = setInterval(() => this.checkAlive(), 2000);
  }

  stop(): void {
    this.stopped = true;
    this.endEarly();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
    this.ws?.close();
    this.ws = null;
    this.setState({ status: 'closed', retryAt: null });
  }

  subscribe(channels: LiveChannel[], listener: Listener): () => void {
    const id = this.nextId++;
    this.subscriptions.set(id, { channels, listener });
    if (this.early) {
      for (const msg of this.early.held) if (wants(channels, msg)) listener(msg);
      // Once views listen on every early channel (the page's view has mounted, not only the layout around it),
      // the ones mounting in this same turn still get the held frames; later ones ask for their own data.
      const listening = new Set(this.listenedChannels());
      if (this.early.channels.every((c) => listening.has(c))) {
        clearTimeout(this.early.timer);
        this.early.timer = setTimeout(() => this.endEarly(), 0);
      }
    }
    this.sendSubscribe();
    return () => {
      this.subscriptions.delete(id);
      this.sendSubscribe();
    };
  }

  onState(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * `quiet`: only the time of the last frame moved (a data frame); listeners hear of that at most once per
   * `QUIET_NOTIFY_MS`. In a storm hundreds of frames a second re-rendered every view that shows the feed's state.
   */
  private setState(patch: Partial<FeedState>, quiet = false): void {
    this.state = { ...this.state, ...patch };
    const now = Date.now();
    if (quiet && now - this.notifiedAt < QUIET_NOTIFY_MS) return;
    this.notifiedAt = now;
    for (const l of this.stateListeners) l();
  }

  private endEarly(): void {
    if (!this.early) return;
    clearTimeout(this.early.timer);
    this.early = null;
    this.sendSubscribe();
  }

  private listenedChannels(): LiveChannel[] {
    const all = new Set<LiveChannel>();
    for (const s of this.subscriptions.values()) s.channels.forEach((c) => all.add(c));
    return [...all];
  }

  /** What the server is asked for: what views listen to, and the early channels while frames are held. */
  private channels(): LiveChannel[] {
    return [...new Set([...this.listenedChannels(), ...(this.early?.channels ?? [])])].sort();
  }

  private subscribeQueued = false;

  /** One subscribe frame for all the views that (un)subscribed in the same turn (a view mounts several hooks). */
  private sendSubscribe(): void {
    if (this.subscribeQueued) return;
    this.subscribeQueued = true;
    queueMicrotask(() => {
      this.subscribeQueued = false;
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'subscribe', channels: this.channels() }));
    });
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState({ status: 'connecting', retryAt: null });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState({ status: 'open', lastFrameAt: Date.now() });
      this.sendSubscribe();
    };
    ws.onmessage = (ev) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(ev.data)) as LiveMessage;
      } catch {
        return;
      }
      const now = Date.now();
      const patch: Partial<FeedState> = { lastFrameAt: now };
      const control = msg.type === 'hello' || msg.type === 'ping';
      if ((msg.type === 'hello' || msg.type === 'ping') && typeof msg.serverTime === 'number') patch.clockOffsetMs = msg.serverTime - now;
      this.setState(patch, !control);
      if (this.early && !control && wants(this.early.channels, msg)) {
        if (this.early.held.push(msg) > MAX_HELD) this.early.held.shift();
      }
      for (const s of this.subscriptions.values()) {
        if (wants(s.channels, msg)) s.listener(msg);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleReconnect();
    };
    ws.onerror = () => ws.close();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = reconnectDelay(this.attempt++);
    this.setState({ status: 'closed', retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private checkAlive(): void {
    const { status, lastFrameAt } = this.state;
    if (status === 'open' && lastFrameAt !== null && Date.now() - lastFrameAt > DEAD_AFTER_MS) {
      const ws = this.ws;
      this.ws = null;
      ws?.close();
      this.scheduleReconnect();
    }
  }
}

function wants(channels: LiveChannel[], msg: LiveMessage): boolean {
  switch (msg.type) {
    case 'readings':
      return channels.includes('readings');
    case 'derived':
      return channels.includes('derived');
    case 'alarm':
      return channels.includes('alarms');
    case 'gateway':
    case 'registry':
    case 'rollout':
      return channels.includes('gateways');
    default:
      return true;
  }
}

function defaultUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const kiosk = new URLSearchParams(location.search).get('kiosk');
  return `${proto}//${location.host}/ws${kiosk ? `?kiosk=${encodeURIComponent(kiosk)}` : ''}`;
}

export const liveFeed = new LiveFeed(defaultUrl);
