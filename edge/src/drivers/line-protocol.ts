import type { Logger } from '@tamky/service-kit';
import { openResilientPort, type SerialSettings } from './serial-port';
import type { FrameValues, StreamHandlers, StreamSource } from './types';

const MAX_LINE = 4096;

/**
 * Text-line sensors: frames end with `delimiter`; `pattern`'s named groups become values
 * (e.g. `PM2\.5=(?<pm25>[\d.]+)`). A line that does not match, or a group that is not a number, is a
 * bad frame (counted), never a crash. An overlong line without delimiter is discarded.
 */
export class LineParser {
  private text = '';
  private readonly re: RegExp;

  constructor(
    private readonly delimiter: string,
    pattern: string,
    private readonly handlers: Pick<StreamHandlers, 'onFrame' | 'onBadFrame'>,
  ) {
    this.re = new RegExp(pattern);
  }

  push(chunk: Buffer): void {
    this.text += chunk.toString('latin1');
    let at: number;
    while ((at = this.text.indexOf(this.delimiter)) >= 0) {
      const line = this.text.slice(0, at).replace(/\r$/, '');
      this.text = this.text.slice(at + this.delimiter.length);
      if (line.trim()) this.line(line);
    }
    if (this.text.length > MAX_LINE) {
      this.handlers.onBadFrame('frame', `line longer than ${MAX_LINE} bytes without delimiter`);
      this.text = '';
    }
  }

  private line(line: string): void {
    const m = this.re.exec(line);
    if (!m?.groups) {
      this.handlers.onBadFrame('frame', `line does not match pattern: ${JSON.stringify(line.slice(0, 80))}`);
      return;
    }
    const values: FrameValues = {};
    for (const [name, raw] of Object.entries(m.groups)) {
      if (raw === undefined) continue;
      const v = Number(raw);
      if (!Number.isFinite(v)) {
        this.handlers.onBadFrame('frame', `group ${name} is not a number: ${JSON.stringify(raw)}`);
        return;
      }
      values[name] = v;
    }
    this.handlers.onFrame(values);
  }
}

export function openLineSource(
  settings: SerialSettings & { delimiter: string; pattern: string },
  handlers: StreamHandlers,
  log: Logger,
): StreamSource {
  const parser = new LineParser(settings.delimiter, settings.pattern, handlers);
  const port = openResilientPort(settings, { onData: (c) => parser.push(c), onState: handlers.onState }, log);
  return { isOpen: () => port.isOpen(), close: () => port.close() };
}
