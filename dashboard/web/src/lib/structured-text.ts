import { parseDocument, stringify } from 'yaml';

export type TextFormat = 'json' | 'yaml';

export type ParseResult = { ok: true; value: unknown } | { ok: false; message: string; line: number | null; col: number | null };

/** Line and column (1-based) of a character offset, for messages an admin can find in the editor. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/**
 * Parses an editor's JSON or YAML text. Errors carry line/column: YAML's own, or for JSON derived from the
 * engine's "position N" (browsers word their messages differently; the position is what they share).
 */
export function parseStructured(text: string, format: TextFormat): ParseResult {
  if (format === 'yaml') {
    const doc = parseDocument(text, { prettyErrors: false });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lineCol(text, err.pos[0]);
      return { ok: false, message: err.message.split('\n')[0]!, line: pos.line, col: pos.col };
    }
    return { ok: true, value: doc.toJS() as unknown };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = (err as Error).message;
    const lc = /line (\d+) column (\d+)/.exec(message);
    if (lc) return { ok: false, message, line: Number(lc[1]), col: Number(lc[2]) };
    const pos = /position (\d+)/.exec(message);
    if (pos) return { ok: false, message, ...lineCol(text, Number(pos[1])) };
    // "Unexpected end of JSON input": the end of the text.
    return { ok: false, message, ...lineCol(text, text.length) };
  }
}

export function formatStructured(value: unknown, format: TextFormat): string {
  return format === 'yaml' ? stringify(value, { lineWidth: 0 }) : JSON.stringify(value, null, 2);
}
