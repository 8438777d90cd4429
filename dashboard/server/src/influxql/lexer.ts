/**
 * Tokens of the InfluxQL subset that Grafana's InfluxDB data source sends (InfluxDB 1.x query language).
 * Errors use InfluxDB's wording ("found X, expected Y at line 1, char N") so clients show what they would
 * show against InfluxDB itself.
 */
export type TokenType = 'ident' | 'string' | 'number' | 'duration' | 'regex' | 'op' | 'eof';

export interface Token {
  type: TokenType;
  /** Identifiers: the name (unquoted); strings and regexes: their content; ops: the symbol. */
  value: string;
  /** Whether an identifier was written in double quotes (then it is never a keyword). */
  quoted?: boolean;
  /** 1-based character position, for error messages. */
  pos: number;
}

export class InfluxQLError extends Error {}

const DURATION_UNITS = ['ns', 'u', 'µ', 'ms', 's', 'm', 'h', 'd', 'w'];
const TWO_CHAR_OPS = ['!=', '<>', '<=', '>=', '=~', '!~'];
const ONE_CHAR_OPS = '=<>+-*/(),.;';

/** Characters after which a `/` starts a regex rather than a division. */
function regexAllowedAfter(prev: Token | undefined): boolean {
  if (!prev) return false;
  if (prev.type === 'op') return ['=~', '!~', '(', ','].includes(prev.value);
  return prev.type === 'ident' && !prev.quoted && ['from', 'measurement'].includes(prev.value.toLowerCase());
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const push = (t: Token) => out.push(t);
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i + 1;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          s += text[j + 1];
          j += 2;
        } else s += text[j++];
      }
      if (j >= text.length)
        throw new InfluxQLError(`unexpected EOF in ${c === '"' ? 'quoted identifier' : 'string'} at line 1, char ${pos}`);
      push(c === '"' ? { type: 'ident', value: s, quoted: true, pos } : { type: 'string', value: s, pos });
      i = j + 1;
      continue;
    }
    if (c === '/' && regexAllowedAfter(out[out.length - 1])) {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '/') {
        if (text[j] === '\\' && text[j + 1] === '/') {
          s += '/';
          j += 2;
        } else s += text[j++];
      }
      if (j >= text.length) throw new InfluxQLError(`unexpected EOF in regex at line 1, char ${pos}`);
      push({ type: 'regex', value: s, pos });
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      let j = i + m[0].length;
      const unit = DURATION_UNITS.filter((u) => text.startsWith(u, j)).sort((a, b) => b.length - a.length)[0];
      if (unit && !/[A-Za-z0-9_]/.test(text[j + unit.length] ?? '') && /^[0-9]+$/.test(m[0])) {
        j += unit.length;
        push({ type: 'duration', value: text.slice(i, j), pos });
      } else push({ type: 'number', value: m[0], pos });
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      push({ type: 'ident', value: m[0], pos });
      i += m[0].length;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR_OPS.includes(two)) {
      push({ type: 'op', value: two, pos });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.includes(c)) {
      push({ type: 'op', value: c, pos });
      i++;
      continue;
    }
    throw new InfluxQLError(`found ${c}, expected identifier at line 1, char ${pos}`);
  }
  out.push({ type: 'eof', value: 'EOF', pos: text.length + 1 });
  return out;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  u: 1e-3,
  µ: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** "20s" → 20000 (ms). */
export function durationMs(literal: string): number {
  const m = /^([0-9]+)(ns|u|µ|ms|s|m|h|d|w)$/.exec(literal);
  if (!m) throw new InfluxQLError(`invalid duration ${literal}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
