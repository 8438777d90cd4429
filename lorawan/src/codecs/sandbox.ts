import vm from 'node:vm';

export class CodecError extends Error {}

const LOAD_TIMEOUT_MS = 2000;
/** A timeout is confirmed under this many times the limit before the payload counts as one the codec hangs on. */
const CONFIRM_FACTOR = 8;
const isTimeout = (err: unknown) => (err as { code?: string } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';

/**
 * Runs a payload codec written against ChirpStack v4's JavaScript codec interface
 * (`decodeUplink({bytes, fPort, recvTime, variables}) → {data, errors?, warnings?}`,
 * `encodeDownlink({data, variables}) → {bytes, fPort?, errors?}`), so the codecs ChirpStack users already have
 * (and the device vendors publish for it) drop in unchanged.
 *
 * Each codec lives in its own vm context with no Node globals; every call runs under a time limit, and
 * promises settle inside the call (microtaskMode 'afterEvaluate'), so a loop can neither hang the connector nor
 * escape the limit through a microtask. Inputs and outputs cross as JSON text, so codec code never holds an
 * object of the connector's realm. node:vm is not a security boundary against hostile code: codecs are data
 * the city installs (like ChirpStack's own device-profile codecs), and the limit is against bugs.
 */
export class Codec {
  private context: vm.Context;
  private readonly decodeScript = new vm.Script('JSON.stringify(decodeUplink(JSON.parse(__input)))', { filename: 'decode-call' });
  private readonly encodeScript = new vm.Script('JSON.stringify(encodeDownlink(JSON.parse(__input)))', { filename: 'encode-call' });

  constructor(
    readonly name: string,
    private readonly source: string,
    private readonly timeoutMs: number,
  ) {
    this.context = this.fresh();
  }

  private fresh(): vm.Context {
    const context = vm.createContext({ __input: '' }, { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' });
    // Defining the codec's functions runs once: bounded, but not by the per-payload limit.
    new vm.Script(this.source, { filename: `codec:${this.name}` }).runInContext(context, {
      timeout: Math.max(this.timeoutMs, LOAD_TIMEOUT_MS),
    });
    return context;
  }

  private run(script: vm.Script, input: unknown): unknown {
    this.context.__input = JSON.stringify(input);
    let out: unknown;
    try {
      out = this.runTimed(script);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      // A timed-out codec may have left its globals half-updated: start it afresh.
      if (isTimeout(err)) this.context = this.fresh();
      throw new CodecError(`codec ${this.name}: ${message}`);
    }
    if (typeof out !== 'string') throw new CodecError(`codec ${this.name}: returned nothing`);
    return JSON.parse(out) as unknown;
  }

  /**
   * vm's limit is wall-clock time, and on a starved machine a decode that takes microseconds can miss it. A
   * legitimate reading must not become a dead letter for that, so a timeout is confirmed with a second run
   * under a much longer limit: only a codec that misses both is hung (it costs the connector that longer
   * limit once per such payload).
   */
  private runTimed(script: vm.Script): unknown {
    try {
      return script.runInContext(this.context, { timeout: this.timeoutMs });
    } catch (err) {
      if (!isTimeout(err)) throw err;
      const input = this.context.__input as string;
      this.context = this.fresh();
      this.context.__input = input;
      return script.runInContext(this.context, { timeout: this.timeoutMs * CONFIRM_FACTOR });
    }
  }

  decode(bytes: Uint8Array, fPort: number, recvTime: string, variables: Record<string, string> = {}): Record<string, unknown> {
    const out = this.run(this.decodeScript, { bytes: [...bytes], fPort, recvTime, variables }) as {
      data?: unknown;
      errors?: unknown;
    } | null;
    if (Array.isArray(out?.errors) && out.errors.length > 0)
      throw new CodecError(`codec ${this.name}: ${out.errors.map(String).join('; ')}`);
    if (!out || typeof out.data !== 'object' || out.data === null || Array.isArray(out.data))
      throw new CodecError(`codec ${this.name}: decodeUplink must return {data: {...}}`);
    return out.data as Record<string, unknown>;
  }

  encode(data: Record<string, unknown>, variables: Record<string, string> = {}): { bytes: Uint8Array; fPort: number | undefined } {
    const out = this.run(this.encodeScript, { data, variables }) as { bytes?: unknown; fPort?: unknown; errors?: unknown } | null;
    if (Array.isArray(out?.errors) && out.errors.length > 0)
      throw new CodecError(`codec ${this.name}: ${out.errors.map(String).join('; ')}`);
    const bytes = out?.bytes;
    if (!Array.isArray(bytes) || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
      throw new CodecError(`codec ${this.name}: encodeDownlink must return {bytes: [0..255, …]}`);
    return { bytes: Uint8Array.from(bytes as number[]), fPort: typeof out?.fPort === 'number' ? out.fPort : undefined };
  }
}
