/**
 * The exact account of a run: every reading is (gateway, seq); the gateway's outbox says which were
 * produced, the store says which arrived, an independent observer says what was published and when it
 * became durable.
 *
 *   npx tsx bench/faults/loss-checker.ts observe --mqtt mqtt://127.0.0.1:1883 --out observed.jsonl
 *       (runs until SIGINT/SIGTERM; anonymous works against a development broker from loopback)
 *   npx tsx bench/faults/loss-checker.ts check --store store.yaml --outbox-dir data/outbox [--observed observed.jsonl] [--city city.yaml]
 *       prints one line `loss-check: produced=… stored=… missing=… duplicated=… altered=… delay_p50=… p99=… max=…`
 *       and exits 1 on any missing, duplicated or altered reading (2 on usage/config errors).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cityModelSchema, ConfigError, isDeviceKind, type TimeSeriesStore } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { openStore, storeConfigSchema } from '@tamky/store';
import { ObservedRecord, startObserver, type PublishedReading } from './observer';
import { readOutboxDir, type ProducedSeqs } from './outbox-seqs';
import { formatMs, percentile } from './stats';

export { ObservedRecord, startObserver } from './observer';
export { readOutbox, readOutboxDir, type ProducedSeqs } from './outbox-seqs';

export interface LossCheckInput {
  store: TimeSeriesStore;
  produced: ProducedSeqs[];
  /** Without it, alterations and delays cannot be judged (only missing/duplicated). */
  observed?: ObservedRecord;
  /** Device → kind, to look stored values up; defaults to what store.latest() knows. */
  kindOf?: (device: string) => string | undefined;
  /** Gateways whose clock is deliberately wrong: their device ts says nothing about delay. */
  excludeFromDelay?: Set<string>;
  /** How many example ids to keep per category. */
  samples?: number;
}

export interface LossReport {
  produced: number;
  stored: number;
  missing: number;
  duplicated: number;
  altered: number;
  /** Missing because ingest dead-lettered every value (validation), with the dead letter as evidence. */
  rejected: number;
  /** Still in a gateway outbox (not yet delivered, not lost). Not counted as missing. */
  pending: number;
  /** Dropped by an outbox bound at the edge (included in missing). */
  edgeDropped: number;
  /** Produced readings the observer never saw published (so alteration could not be judged). */
  unobserved: number;
  /** Same (gateway, seq) published with different content. */
  inconsistentCopies: number;
  /** Copies published beyond the first (resends), a measure of redelivery work. */
  extraCopies: number;
  delay: { n: number; p50: number; p99: number; max: number };
  examples: { missing: string[]; duplicated: string[]; altered: string[] };
  ok: boolean;
}

const keyOf = (device: string, ts: number) => `${device}\u0000${ts}`;
const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));

/** Readings (gateway, seq) and values (gateway, seq, field) that ingest rejected, from the dead letters. */
async function rejectedByValidation(store: TimeSeriesStore): Promise<{ readings: Set<string>; fields: Set<string> }> {
  const readings = new Set<string>();
  const fields = new Set<string>();
  for (const l of await store.deadLetters({ limit: 10_000_000 })) {
    if (!l.gateway) continue;
    let raw: { seq?: unknown; field?: unknown } | undefined;
    try {
      raw = JSON.parse(l.raw) as typeof raw;
    } catch {
      continue;
    }
    if (typeof raw?.seq !== 'number') continue;
    if (typeof raw.field === 'string') fields.add(`${l.gateway}#${raw.seq}#${raw.field}`);
    else readings.add(`${l.gateway}#${raw.seq}`);
  }
  return { readings, fields };
}

/**
 * Stored values of the observed readings by (device, ts), one raw query per kind. A (device, ts) can hold
 * several readings (a gateway clock stepped back onto times it had used): each field then has one value per
 * reading, and a published reading matches when each of its values is among them.
 */
async function storedValues(
  store: TimeSeriesStore,
  observed: ObservedRecord,
  kindOf: (device: string) => string | undefined,
): Promise<Map<string, Record<string, number[]>>> {
  const perKind = new Map<string, { fields: Set<string>; from: number; to: number }>();
  for (const seqs of observed.published.values()) {
    for (const r of seqs.values()) {
      const kind = kindOf(r.device);
      if (!kind) continue;
      let k = perKind.get(kind);
      if (!k) perKind.set(kind, (k = { fields: new Set(), from: r.ts, to: r.ts }));
      for (const f in r.values) k.fields.add(f);
      if (r.ts < k.from) k.from = r.ts;
      if (r.ts > k.to) k.to = r.ts;
    }
  }
  const out = new Map<string, Record<string, number[]>>();
  for (const [kind, k] of perKind) {
    for (const s of await store.query({ kind, fields: [...k.fields], from: k.from, to: k.to })) {
      for (const [ts, v] of s.points) {
        const key = keyOf(s.device, ts);
        let vals = out.get(key);
        if (!vals) out.set(key, (vals = {}));
        (vals[s.field] ??= []).push(v);
      }
    }
  }
  return out;
}

export async function checkLoss(input: LossCheckInput): Promise<LossReport> {
  const { store, observed } = input;
  const keep = input.samples ?? 10;
  const examples = { missing: [] as string[], duplicated: [] as string[], altered: [] as string[] };
  const note = (list: string[], s: string) => {
    if (list.length < keep) list.push(s);
  };
  let kindOf = input.kindOf;
  if (!kindOf) {
    // Derived series (e.g. VN_AQI) are stored under the device's id with another kind: keep device kinds only.
    const kinds = new Map((await store.latest()).filter((r) => isDeviceKind(r.kind)).map((r) => [r.device, r.kind]));
    kindOf = (d) => kinds.get(d);
  }
  const rejected = await rejectedByValidation(store);
  const values = observed ? await storedValues(store, observed, kindOf) : new Map<string, Record<string, number[]>>();

  const report: LossReport = {
    produced: 0,
    stored: 0,
    missing: 0,
    duplicated: 0,
    altered: 0,
    rejected: 0,
    pending: 0,
    edgeDropped: 0,
    unobserved: 0,
    inconsistentCopies: observed?.inconsistent ?? 0,
    extraCopies: 0,
    delay: { n: 0, p50: NaN, p99: NaN, max: NaN },
    examples,
    ok: false,
  };
  const delays: number[] = [];

  for (const gw of input.produced) {
    report.produced += gw.lastSeq;
    report.edgeDropped += gw.edgeDropped;
    const pending = new Set(gw.pending);
    const counts = new Map<number, number>();
    for (const seq of await store.sequences(gw.gateway)) counts.set(seq, (counts.get(seq) ?? 0) + 1);
    const published = observed?.published.get(gw.gateway);
    const arrivals = observed?.arrivals.get(gw.gateway);
    const copies = observed?.copies.get(gw.gateway);
    for (let seq = 1; seq <= gw.lastSeq; seq++) {
      const n = counts.get(seq) ?? 0;
      const id = `${gw.gateway}#${seq}`;
      if (n === 0) {
        if (pending.has(seq)) report.pending++;
        else if (rejected.readings.has(id)) report.rejected++;
        else {
          report.missing++;
          note(examples.missing, id);
        }
        continue;
      }
      report.stored++;
      if (n > 1) {
        report.duplicated += n - 1;
        note(examples.duplicated, `${id}×${n}`);
      }
      const pub: PublishedReading | undefined = published?.get(seq);
      if (!pub) {
        if (observed) report.unobserved++;
        continue;
      }
      report.extraCopies += (copies?.get(seq) ?? 1) - 1;
      const stored = values.get(keyOf(pub.device, pub.ts));
      const diff: string[] = [];
      for (const [field, v] of Object.entries(pub.values)) {
        if (rejected.fields.has(`${id}#${field}`)) continue;
        const candidates = stored?.[field] ?? [];
        // Each stored value answers for one reading only: a match is taken out.
        const match = candidates.findIndex((s) => close(s, v));
        if (match >= 0) candidates.splice(match, 1);
        else diff.push(`${field}: published ${v}, stored ${candidates.length ? candidates.join(' | ') : 'nothing'}`);
      }
      if (diff.length > 0) {
        report.altered++;
        note(examples.altered, `${id} (${pub.device} @${pub.ts}) ${diff.join(', ')}`);
      }
      const at = arrivals?.get(seq);
      if (at !== undefined && !input.excludeFromDelay?.has(gw.gateway)) delays.push(at - pub.ts);
    }
  }
  delays.sort((a, b) => a - b);
  report.delay = {
    n: delays.length,
    p50: percentile(delays, 0.5),
    p99: percentile(delays, 0.99),
    max: delays.length ? delays[delays.length - 1]! : NaN,
  };
  report.ok = report.missing === 0 && report.duplicated === 0 && report.altered === 0;
  return report;
}

export function summaryLine(r: LossReport): string {
  return (
    `loss-check: produced=${r.produced} stored=${r.stored} missing=${r.missing} duplicated=${r.duplicated} altered=${r.altered} ` +
    `delay_p50=${formatMs(r.delay.p50)} p99=${formatMs(r.delay.p99)} max=${formatMs(r.delay.max)} ` +
    `rejected=${r.rejected} pending=${r.pending} edge_dropped=${r.edgeDropped} unobserved=${r.unobserved} extra_copies=${r.extraCopies} inconsistent_copies=${r.inconsistentCopies} delay_n=${r.delay.n}`
  );
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      'outbox-dir': { type: 'string' },
      observed: { type: 'string' },
      city: { type: 'string' },
      mqtt: { type: 'string' },
      out: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
  const usage =
    'usage: loss-checker.ts check --store <store.yaml> --outbox-dir <dir> [--observed <file.jsonl>] [--city <city.yaml>]\n       loss-checker.ts observe --mqtt <url> --out <file.jsonl> [--username u --password p]\n';
  if (positionals[0] === 'observe') {
    if (!values.mqtt || !values.out) return (process.stderr.write(usage), 2);
    const obs = await startObserver({
      url: values.mqtt,
      username: values.username,
      password: values.password ?? process.env.OBSERVER_PASSWORD,
      journal: values.out,
      clientId: 'loss-observer',
    });
    process.stderr.write(`observing ${values.mqtt} → ${values.out}\n`);
    await new Promise<void>((res) => {
      process.once('SIGINT', res);
      process.once('SIGTERM', res);
    });
    await obs.close();
    return 0;
  }
  if (positionals[0] !== 'check' || !values.store || !values['outbox-dir']) return (process.stderr.write(usage), 2);
  const store = await openStore(loadConfigFile(values.store, storeConfigSchema), { readonly: true });
  try {
    let kindOf: ((d: string) => string | undefined) | undefined;
    if (values.city) {
      const city = loadConfigFile(values.city, cityModelSchema);
      const kinds = new Map(city.devices.map((d) => [d.id, d.kind]));
      kindOf = (d) => kinds.get(d);
    }
    const report = await checkLoss({
      store,
      produced: readOutboxDir(values['outbox-dir']),
      observed: values.observed ? ObservedRecord.load(values.observed) : undefined,
      kindOf,
    });
    process.stdout.write(`${summaryLine(report)}\n`);
    if (values.verbose || !report.ok) {
      for (const [what, list] of Object.entries(report.examples)) if (list.length) process.stderr.write(`  ${what}: ${list.join('; ')}\n`);
    }
    return report.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(2);
    },
  );
}
