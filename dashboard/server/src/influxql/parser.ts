import { durationMs, InfluxQLError, tokenize, type Token } from './lexer';

export type Expr =
  | { type: 'binary'; op: string; left: Expr; right: Expr }
  | { type: 'ref'; name: string }
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'duration'; ms: number }
  | { type: 'regex'; source: string }
  | { type: 'bool'; value: boolean }
  | { type: 'call'; name: string; args: Expr[] }
  | { type: 'wildcard' };

export type Fill = { kind: 'null' } | { kind: 'none' } | { kind: 'previous' } | { kind: 'linear' } | { kind: 'number'; value: number };

/** A measurement as written after FROM: a name (database and retention policy ignored) or a regex. */
export type Source = { name: string } | { regex: string };

export interface SelectStatement {
  type: 'select';
  fields: Array<{ expr: Expr; alias?: string }>;
  source: Source;
  where?: Expr;
  groupByTime?: { ms: number; offsetMs: number };
  /** `*` groups by every tag. */
  groupByTags: string[] | '*';
  fill: Fill;
  descending: boolean;
  limit?: number;
  offset?: number;
  slimit?: number;
  soffset?: number;
}

export type ShowWhat = 'measurements' | 'tag keys' | 'tag values' | 'field keys' | 'retention policies' | 'databases';

export interface ShowStatement {
  type: 'show';
  what: ShowWhat;
  source?: Source;
  /** SHOW TAG VALUES WITH KEY = "k" / =~ /re/ / IN ("a","b"). */
  withKey?: { op: '=' | '!=' | '=~' | '!~' | 'in'; values: string[] };
  /** SHOW MEASUREMENTS WITH MEASUREMENT =~ /re/. */
  withMeasurement?: { op: '=' | '=~'; value: string };
  where?: Expr;
  limit?: number;
  offset?: number;
}

export type Statement = SelectStatement | ShowStatement;

const COMPARISON = new Set(['=', '!=', '<>', '<', '<=', '>', '>=', '=~', '!~']);

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    return this.tokens[Math.min(this.i++, this.tokens.length - 1)]!;
  }
  private fail(expected: string, t = this.peek()): never {
    throw new InfluxQLError(`found ${t.type === 'eof' ? 'EOF' : t.value}, expected ${expected} at line 1, char ${t.pos}`);
  }
  private isKeyword(word: string, t = this.peek()): boolean {
    return t.type === 'ident' && !t.quoted && t.value.toLowerCase() === word;
  }
  private keyword(word: string): void {
    if (!this.isKeyword(word)) this.fail(word.toUpperCase());
    this.i++;
  }
  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.i++;
    return true;
  }
  private isOp(op: string, t = this.peek()): boolean {
    return t.type === 'op' && t.value === op;
  }
  private op(op: string): void {
    if (!this.isOp(op)) this.fail(op);
    this.i++;
  }
  private ident(): string {
    const t = this.peek();
    if (t.type !== 'ident') this.fail('identifier');
    this.i++;
    return t.value;
  }
  private integer(what: string): number {
    const t = this.peek();
    if (t.type !== 'number' || !/^[0-9]+$/.test(t.value)) this.fail(what);
    this.i++;
    return Number(t.value);
  }

  statements(): Statement[] {
    const out: Statement[] = [];
    for (;;) {
      while (this.isOp(';')) this.i++;
      if (this.peek().type === 'eof') break;
      out.push(this.statement());
      if (!this.isOp(';') && this.peek().type !== 'eof') this.fail(';');
    }
    if (out.length === 0) this.fail('SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL');
    return out;
  }

  private statement(): Statement {
    if (this.acceptKeyword('select')) return this.select();
    if (this.acceptKeyword('show')) return this.show();
    return this.fail('SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL');
  }

  private source(): Source {
    const t = this.peek();
    if (t.type === 'regex') {
      this.i++;
      return { regex: t.value };
    }
    // [database.][retention_policy.]measurement: the measurement is the last part.
    let name = this.ident();
    while (this.isOp('.')) {
      this.i++;
      if (this.isOp('.')) continue; // "db"..measurement (default retention policy)
      name = this.ident();
    }
    return { name };
  }

  private select(): SelectStatement {
    const fields: SelectStatement['fields'] = [];
    do {
      const expr = this.expr();
      const alias = this.acceptKeyword('as') ? this.ident() : undefined;
      fields.push(alias === undefined ? { expr } : { expr, alias });
    } while (this.isOp(',') && this.next());
    this.keyword('from');
    const source = this.source();
    if (this.isOp(',')) throw new InfluxQLError('selecting from more than one measurement is not supported by this endpoint');
    const stmt: SelectStatement = { type: 'select', fields, source, groupByTags: [], fill: { kind: 'null' }, descending: false };
    if (this.acceptKeyword('where')) stmt.where = this.expr();
    if (this.acceptKeyword('group')) {
      this.keyword('by');
      do {
        if (this.isKeyword('time') && this.isOp('(', this.peek(1))) {
          this.i += 2;
          const d = this.next();
          if (d.type !== 'duration') this.fail('duration', d);
          let offsetMs = 0;
          if (this.isOp(',')) {
            this.i++;
            const o = this.next();
            if (o.type !== 'duration') this.fail('duration', o);
            offsetMs = durationMs(o.value);
          }
          this.op(')');
          stmt.groupByTime = { ms: durationMs(d.value), offsetMs };
        } else if (this.isOp('*')) {
          this.i++;
          stmt.groupByTags = '*';
        } else {
          const tag = this.ident();
          if (stmt.groupByTags !== '*') stmt.groupByTags.push(tag);
        }
      } while (this.isOp(',') && this.next());
    }
    if (this.isKeyword('fill')) {
      this.i++;
      this.op('(');
      const t = this.next();
      if (t.type === 'number' || (this.isOp('-', t) && this.peek().type === 'number')) {
        const value = t.type === 'number' ? Number(t.value) : -Number(this.next().value);
        stmt.fill = { kind: 'number', value };
      } else if (t.type === 'ident' && ['null', 'none', 'previous', 'linear'].includes(t.value.toLowerCase())) {
        stmt.fill = { kind: t.value.toLowerCase() as 'null' | 'none' | 'previous' | 'linear' };
      } else this.fail('null, none, previous, linear or a number', t);
      this.op(')');
    }
    if (this.acceptKeyword('order')) {
      this.keyword('by');
      if (!this.isKeyword('time')) throw new InfluxQLError('only ORDER BY time supported at this time');
      this.i++;
      if (this.acceptKeyword('desc')) stmt.descending = true;
      else this.acceptKeyword('asc');
    }
    for (;;) {
      if (this.acceptKeyword('limit')) stmt.limit = this.integer('integer');
      else if (this.acceptKeyword('offset')) stmt.offset = this.integer('integer');
      else if (this.acceptKeyword('slimit')) stmt.slimit = this.integer('integer');
      else if (this.acceptKeyword('soffset')) stmt.soffset = this.integer('integer');
      else if (this.isKeyword('tz')) {
        this.i++;
        this.op('(');
        const tz = this.next();
        if (tz.type !== 'string') this.fail('string', tz);
        this.op(')');
        if (tz.value !== 'UTC' && tz.value !== 'Etc/UTC')
          throw new InfluxQLError(`tz('${tz.value}') is not supported by this endpoint: windows are aligned to UTC`);
      } else break;
    }
    return stmt;
  }

  private show(): ShowStatement {
    let what: ShowWhat;
    if (this.acceptKeyword('measurements')) what = 'measurements';
    else if (this.acceptKeyword('databases')) what = 'databases';
    else if (this.acceptKeyword('retention')) {
      this.keyword('policies');
      what = 'retention policies';
      if (this.acceptKeyword('on')) this.ident();
    } else if (this.acceptKeyword('tag')) {
      if (this.acceptKeyword('keys')) what = 'tag keys';
      else if (this.acceptKeyword('values')) what = 'tag values';
      else return this.fail('KEYS, VALUES');
    } else if (this.acceptKeyword('field')) {
      this.keyword('keys');
      what = 'field keys';
    } else
      return this.fail(
        'CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS',
      );
    const stmt: ShowStatement = { type: 'show', what };
    if (this.acceptKeyword('on')) this.ident();
    if (this.acceptKeyword('from')) stmt.source = this.source();
    if (what === 'measurements' && this.acceptKeyword('with')) {
      this.keyword('measurement');
      const op = this.next();
      if (op.type !== 'op' || (op.value !== '=' && op.value !== '=~')) this.fail('= or =~', op);
      const v = this.next();
      if (op.value === '=~' ? v.type !== 'regex' : v.type !== 'ident') this.fail(op.value === '=~' ? 'regex' : 'identifier', v);
      stmt.withMeasurement = { op: op.value as '=' | '=~', value: v.value };
    }
    if (what === 'tag values') {
      this.keyword('with');
      this.keyword('key');
      if (this.acceptKeyword('in')) {
        this.op('(');
        const values = [this.ident()];
        while (this.isOp(',') && this.next()) values.push(this.ident());
        this.op(')');
        stmt.withKey = { op: 'in', values };
      } else {
        const op = this.next();
        if (op.type !== 'op' || !['=', '!=', '<>', '=~', '!~'].includes(op.value)) this.fail('=, !=, =~, !~ or IN', op);
        const isRegex = op.value === '=~' || op.value === '!~';
        const v = this.next();
        if (isRegex ? v.type !== 'regex' : v.type !== 'ident') this.fail(isRegex ? 'regex' : 'identifier', v);
        stmt.withKey = { op: (op.value === '<>' ? '!=' : op.value) as '=' | '!=' | '=~' | '!~', values: [v.value] };
      }
    }
    if (this.acceptKeyword('where')) stmt.where = this.expr();
    for (;;) {
      if (this.acceptKeyword('limit')) stmt.limit = this.integer('integer');
      else if (this.acceptKeyword('offset')) stmt.offset = this.integer('integer');
      else break;
    }
    return stmt;
  }

  // Expressions, lowest precedence first.
  private expr(): Expr {
    let left = this.andExpr();
    while (this.acceptKeyword('or')) left = { type: 'binary', op: 'or', left, right: this.andExpr() };
    return left;
  }
  private andExpr(): Expr {
    let left = this.comparison();
    while (this.acceptKeyword('and')) left = { type: 'binary', op: 'and', left, right: this.comparison() };
    return left;
  }
  private comparison(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.type === 'op' && COMPARISON.has(t.value)) {
      this.i++;
      return { type: 'binary', op: t.value === '<>' ? '!=' : t.value, left, right: this.additive() };
    }
    return left;
  }
  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) left = { type: 'binary', op: this.next().value, left, right: this.multiplicative() };
    return left;
  }
  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/')) left = { type: 'binary', op: this.next().value, left, right: this.unary() };
    return left;
  }
  private unary(): Expr {
    const t = this.next();
    switch (t.type) {
      case 'string':
        return { type: 'string', value: t.value };
      case 'number':
        return { type: 'number', value: Number(t.value) };
      case 'duration':
        return { type: 'duration', ms: durationMs(t.value) };
      case 'regex':
        return { type: 'regex', source: t.value };
      case 'op':
        if (t.value === '(') {
          const e = this.expr();
          this.op(')');
          return e;
        }
        if (t.value === '*') return { type: 'wildcard' };
        if (t.value === '-') {
          const n = this.next();
          if (n.type === 'number') return { type: 'number', value: -Number(n.value) };
          if (n.type === 'duration') return { type: 'duration', ms: -durationMs(n.value) };
          return this.fail('number', n);
        }
        return this.fail('identifier, string, number, bool', t);
      case 'ident': {
        if (!t.quoted && (t.value.toLowerCase() === 'true' || t.value.toLowerCase() === 'false'))
          return { type: 'bool', value: t.value.toLowerCase() === 'true' };
        if (!t.quoted && this.isOp('(')) {
          this.i++;
          const args: Expr[] = [];
          if (!this.isOp(')')) {
            do args.push(this.expr());
            while (this.isOp(',') && this.next());
          }
          this.op(')');
          return { type: 'call', name: t.value.toLowerCase(), args };
        }
        return { type: 'ref', name: t.value };
      }
      default:
        return this.fail('identifier, string, number, bool', t);
    }
  }
}

export function parseInfluxQL(text: string): Statement[] {
  return new Parser(tokenize(text)).statements();
}
