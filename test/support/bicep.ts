/**
 * A small, purpose-built reader for the subset of Bicep that infra/ is written in (there is no Bicep compiler on
 * the build machines): `targetScope`, decorators, `param`, `var`, `resource` (`existing`, `if (...)`, `[for ...]`),
 * `module`, `output`; object and array literals (newline- or comma-separated), strings with `${}` interpolation and
 * `'''` verbatim strings, member/index access, calls, lambdas, ternaries, binary and unary operators, and `//` and
 * `/* *\/` comments, which are kept and attached to the declaration or object property that follows them.
 * Anything outside the subset is a parse error naming the file and line, so the infra test never silently skips
 * what it cannot read. `evaluate` folds what is known before deployment (literals, vars, parameter defaults).
 */

export type Expr =
  | { kind: 'string'; parts: Array<string | Expr>; line: number }
  | { kind: 'number'; value: number; line: number }
  | { kind: 'bool'; value: boolean; line: number }
  | { kind: 'null'; line: number }
  | { kind: 'ident'; name: string; line: number }
  | { kind: 'member'; object: Expr; property: string; line: number }
  | { kind: 'index'; object: Expr; index: Expr; line: number }
  | { kind: 'call'; callee: Expr; args: Expr[]; line: number }
  | { kind: 'object'; properties: Property[]; line: number }
  | { kind: 'array'; items: Expr[]; line: number }
  | { kind: 'for'; item: string; index?: string | undefined; source: Expr; body: Expr; line: number }
  | { kind: 'if'; condition: Expr; body: Expr; line: number }
  | { kind: 'ternary'; condition: Expr; then: Expr; otherwise: Expr; line: number }
  | { kind: 'binary'; op: string; left: Expr; right: Expr; line: number }
  | { kind: 'unary'; op: string; operand: Expr; line: number }
  | { kind: 'lambda'; params: string[]; body: Expr; line: number };

export interface Property {
  readonly key: string;
  readonly value: Expr;
  readonly comments: string[];
  readonly line: number;
}

export interface Decorator {
  readonly name: string;
  readonly args: Expr[];
}

export interface Declaration {
  readonly kind: 'targetScope' | 'param' | 'var' | 'resource' | 'module' | 'output';
  readonly name: string;
  /** param/output type; resource type ('Microsoft.Web/sites@2024-04-01'); module path. */
  readonly type?: string | undefined;
  readonly value?: Expr | undefined;
  readonly existing?: boolean;
  readonly decorators: Decorator[];
  readonly comments: string[];
  readonly line: number;
}

export interface BicepFile {
  readonly path: string;
  readonly declarations: Declaration[];
}

export class BicepParseError extends Error {}

type Token =
  | { t: 'ident'; v: string; line: number }
  | { t: 'number'; v: number; line: number }
  | { t: 'string'; parts: Array<string | { source: string; line: number }>; line: number }
  | { t: 'punct'; v: string; line: number }
  | { t: 'newline'; line: number }
  | { t: 'comment'; v: string; line: number }
  | { t: 'eof'; line: number };

const PUNCT2 = ['==', '!=', '<=', '>=', '&&', '||', '??', '=>'];
const PUNCT1 = '{}[]():,.?!=<>+-*/%@';

function lex(source: string, path: string, firstLine = 1): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = firstLine;
  const fail = (message: string): never => {
    throw new BicepParseError(`${path}:${line}: ${message}`);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      tokens.push({ t: 'newline', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (source.startsWith('//', i)) {
      const end = source.indexOf('\n', i);
      const stop = end < 0 ? source.length : end;
      tokens.push({ t: 'comment', v: source.slice(i + 2, stop).trim(), line });
      i = stop;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment');
      const text = source.slice(i + 2, end);
      tokens.push({ t: 'comment', v: text.trim(), line });
      line += text.split('\n').length - 1;
      i = end + 2;
    } else if (source.startsWith("'''", i)) {
      const end = source.indexOf("'''", i + 3);
      if (end < 0) fail('unterminated multi-line string');
      const text = source.slice(i + 3, end).replace(/^\r?\n/, '');
      tokens.push({ t: 'string', parts: [text], line });
      line += source.slice(i, end).split('\n').length - 1;
      i = end + 3;
    } else if (c === "'") {
      const startLine = line;
      const parts: Array<string | { source: string; line: number }> = [];
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) fail('unterminated string');
        const ch = source[i]!;
        if (ch === "'") {
          i++;
          break;
        }
        if (ch === '\n') fail('newline in a string');
        if (ch === '\\') {
          const next = source[i + 1];
          const escapes: Record<string, string> = { '\\': '\\', "'": "'", n: '\n', r: '\r', t: '\t', $: '$' };
          if (next === undefined || escapes[next] === undefined) fail(`unsupported escape \\${next ?? ''}`);
          text += escapes[next!];
          i += 2;
        } else if (ch === '$' && source[i + 1] === '{') {
          if (text) parts.push(text);
          text = '';
          let depth = 1;
          let j = i + 2;
          let inString = false;
          while (j < source.length && depth > 0) {
            const cj = source[j]!;
            if (inString) {
              if (cj === '\\') j++;
              else if (cj === "'") inString = false;
            } else if (cj === "'") inString = true;
            else if (cj === '{') depth++;
            else if (cj === '}') depth--;
            j++;
          }
          if (depth > 0) fail('unterminated interpolation');
          parts.push({ source: source.slice(i + 2, j - 1), line });
          i = j;
        } else {
          text += ch;
          i++;
        }
      }
      if (text || parts.length === 0) parts.push(text);
      tokens.push({ t: 'string', parts, line: startLine });
    } else if (/[0-9]/.test(c)) {
      let j = i;
      while (j < source.length && /[0-9.]/.test(source[j]!)) j++;
      tokens.push({ t: 'number', v: Number(source.slice(i, j)), line });
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < source.length && /[A-Za-z0-9_]/.test(source[j]!)) j++;
      tokens.push({ t: 'ident', v: source.slice(i, j), line });
      i = j;
    } else {
      const two = source.slice(i, i + 2);
      if (PUNCT2.includes(two)) {
        tokens.push({ t: 'punct', v: two, line });
        i += 2;
      } else if (PUNCT1.includes(c)) {
        tokens.push({ t: 'punct', v: c, line });
        i++;
      } else {
        fail(`unexpected character ${JSON.stringify(c)}`);
      }
    }
  }
  tokens.push({ t: 'eof', line });
  return tokens;
}

class Parser {
  private pos = 0;
  /** Inside (...) newlines are insignificant; inside {...} and [...] they separate items. */
  private parenDepth = 0;
  private pendingComments: string[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly path: string,
  ) {}

  private fail(message: string, token = this.peek()): never {
    throw new BicepParseError(`${this.path}:${token.line}: ${message}`);
  }

  /** Next significant token; collects comments, and skips newlines inside parentheses. */
  private peek(): Token {
    for (;;) {
      const token = this.tokens[this.pos]!;
      if (token.t === 'comment') {
        this.pendingComments.push(token.v);
        this.pos++;
      } else if (token.t === 'newline' && this.parenDepth > 0) {
        this.pos++;
      } else {
        return token;
      }
    }
  }

  private next(): Token {
    const token = this.peek();
    this.pos++;
    return token;
  }

  private isPunct(v: string): boolean {
    const token = this.peek();
    return token.t === 'punct' && token.v === v;
  }

  private isIdent(v?: string): boolean {
    const token = this.peek();
    return token.t === 'ident' && (v === undefined || token.v === v);
  }

  private expectPunct(v: string): void {
    const token = this.next();
    if (token.t !== 'punct' || token.v !== v) this.fail(`expected "${v}"`, token);
  }

  private expectIdent(v?: string): string {
    const token = this.next();
    if (token.t !== 'ident' || (v !== undefined && token.v !== v)) this.fail(v ? `expected "${v}"` : 'expected a name', token);
    return token.v;
  }

  private skipNewlines(): void {
    while (this.peek().t === 'newline') this.pos++;
  }

  private takeComments(): string[] {
    const comments = this.pendingComments;
    this.pendingComments = [];
    return comments;
  }

  parseFile(): Declaration[] {
    const declarations: Declaration[] = [];
    for (;;) {
      this.skipNewlines();
      if (this.peek().t === 'eof') return declarations;
      const comments = this.takeComments();
      const decorators: Decorator[] = [];
      while (this.isPunct('@')) {
        this.next();
        const name = this.expectIdent();
        this.expectPunct('(');
        decorators.push({ name, args: this.parseArgs() });
        this.skipNewlines();
      }
      const all = [...comments, ...this.takeComments()];
      const keyword = this.next();
      if (keyword.t !== 'ident') this.fail('expected a declaration', keyword);
      const line = keyword.line;
      let declaration: Declaration;
      switch (keyword.v) {
        case 'targetScope':
          this.expectPunct('=');
          declaration = { kind: 'targetScope', name: 'targetScope', value: this.parseExpr(), decorators, comments: all, line };
          break;
        case 'param': {
          const name = this.expectIdent();
          const type = this.parseTypeName();
          let value: Expr | undefined;
          if (this.isPunct('=')) {
            this.next();
            value = this.parseExpr();
          }
          declaration = { kind: 'param', name, type, value, decorators, comments: all, line };
          break;
        }
        case 'var': {
          const name = this.expectIdent();
          this.expectPunct('=');
          declaration = { kind: 'var', name, value: this.parseExpr(), decorators, comments: all, line };
          break;
        }
        case 'output': {
          const name = this.expectIdent();
          const type = this.parseTypeName();
          this.expectPunct('=');
          declaration = { kind: 'output', name, type, value: this.parseExpr(), decorators, comments: all, line };
          break;
        }
        case 'resource':
        case 'module': {
          const name = this.expectIdent();
          const typeToken = this.next();
          if (typeToken.t !== 'string' || typeToken.parts.length !== 1 || typeof typeToken.parts[0] !== 'string') {
            this.fail(`expected the ${keyword.v} type as a plain string`, typeToken);
          }
          const existing = this.isIdent('existing');
          if (existing) this.next();
          this.expectPunct('=');
          declaration = {
            kind: keyword.v,
            name,
            type: String(typeToken.parts[0]),
            existing,
            value: this.parseExpr(),
            decorators,
            comments: all,
            line,
          };
          break;
        }
        default:
          this.fail(`unsupported declaration "${keyword.v}"`, keyword);
      }
      declarations.push(declaration);
      const end = this.peek();
      if (end.t !== 'newline' && end.t !== 'eof') this.fail('expected the end of the line', end);
      this.takeComments(); // comments inside a declaration that no property took stay with it
    }
  }

  private parseTypeName(): string {
    let type = this.expectIdent();
    if (this.isPunct('[')) {
      this.next();
      this.expectPunct(']');
      type += '[]';
    }
    return type;
  }

  private parseArgs(): Expr[] {
    this.parenDepth++;
    const args: Expr[] = [];
    while (!this.isPunct(')')) {
      args.push(this.parseExpr());
      if (this.isPunct(',')) this.next();
      else if (!this.isPunct(')')) this.fail('expected "," or ")"');
    }
    this.next();
    this.parenDepth--;
    return args;
  }

  parseExpr(): Expr {
    const condition = this.parseBinary(0);
    if (this.isPunct('?')) {
      const line = this.next().line;
      const then = this.parseExpr();
      this.expectPunct(':');
      const otherwise = this.parseExpr();
      return { kind: 'ternary', condition, then, otherwise, line };
    }
    return condition;
  }

  private static readonly LEVELS = [['??'], ['||'], ['&&'], ['==', '!='], ['<', '>', '<=', '>='], ['+', '-'], ['*', '/', '%']];

  private parseBinary(level: number): Expr {
    if (level >= Parser.LEVELS.length) return this.parseUnary();
    let left = this.parseBinary(level + 1);
    for (;;) {
      const token = this.peek();
      if (token.t !== 'punct' || !Parser.LEVELS[level]!.includes(token.v)) return left;
      this.next();
      left = { kind: 'binary', op: token.v, left, right: this.parseBinary(level + 1), line: token.line };
    }
  }

  private parseUnary(): Expr {
    const token = this.peek();
    if (token.t === 'punct' && (token.v === '!' || token.v === '-')) {
      this.next();
      return { kind: 'unary', op: token.v, operand: this.parseUnary(), line: token.line };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(expr: Expr): Expr {
    for (;;) {
      // Member access, index and call bind only on the same line (a '[' on the next line starts a new item).
      const token = this.tokens[this.pos]!;
      if (token.t !== 'punct') return expr;
      if (token.v === '.') {
        this.next();
        expr = { kind: 'member', object: expr, property: this.expectIdent(), line: token.line };
      } else if (token.v === '[') {
        this.next();
        const saved = this.parenDepth;
        this.parenDepth = 1;
        const index = this.parseExpr();
        this.parenDepth = saved;
        this.expectPunct(']');
        expr = { kind: 'index', object: expr, index, line: token.line };
      } else if (token.v === '(' && (expr.kind === 'ident' || expr.kind === 'member')) {
        this.next();
        expr = { kind: 'call', callee: expr, args: this.parseArgs(), line: token.line };
      } else {
        return expr;
      }
    }
  }

  private parsePrimary(): Expr {
    const token = this.next();
    const line = token.line;
    switch (token.t) {
      case 'string':
        return {
          kind: 'string',
          parts: token.parts.map((p) => (typeof p === 'string' ? p : parseExpression(p.source, this.path, p.line))),
          line,
        };
      case 'number':
        return { kind: 'number', value: token.v, line };
      case 'ident': {
        if (token.v === 'true' || token.v === 'false') return { kind: 'bool', value: token.v === 'true', line };
        if (token.v === 'null') return { kind: 'null', line };
        if (token.v === 'if' && this.isPunct('(')) {
          this.next();
          const [condition, ...rest] = this.parseArgs();
          if (!condition || rest.length) this.fail('expected one condition', token);
          return { kind: 'if', condition, body: this.parseExpr(), line };
        }
        if (this.isPunct('=>')) {
          this.next();
          return { kind: 'lambda', params: [token.v], body: this.parseExpr(), line };
        }
        return { kind: 'ident', name: token.v, line };
      }
      case 'punct':
        if (token.v === '(') return this.parseParenthesized(line);
        if (token.v === '{') return this.parseObject(line);
        if (token.v === '[') return this.parseArray(line);
        return this.fail(`unexpected "${token.v}"`, token);
      default:
        return this.fail('unexpected end of line', token);
    }
  }

  private parseParenthesized(line: number): Expr {
    // A lambda's parameter list `(a, b) => ...` or a parenthesized expression.
    const start = this.pos;
    this.parenDepth++;
    const names: string[] = [];
    let lambda = false;
    while (this.isIdent()) {
      names.push(this.expectIdent());
      if (this.isPunct(',')) this.next();
      else break;
    }
    if (this.isPunct(')')) {
      this.next();
      lambda = this.isPunct('=>');
    }
    if (lambda) {
      this.parenDepth--;
      this.next();
      return { kind: 'lambda', params: names, body: this.parseExpr(), line };
    }
    this.pos = start;
    const inner = this.parseExpr();
    this.expectPunct(')');
    this.parenDepth--;
    return inner;
  }

  private withItems<T>(parse: () => T): T {
    const saved = this.parenDepth;
    this.parenDepth = 0;
    try {
      return parse();
    } finally {
      this.parenDepth = saved;
    }
  }

  private endOfItem(close: string): void {
    if (this.isPunct(',')) this.next();
    else if (this.peek().t === 'newline') this.skipNewlines();
    else if (!this.isPunct(close)) this.fail(`expected a new line, "," or "${close}"`);
  }

  private parseObject(line: number): Expr {
    return this.withItems(() => {
      const properties: Property[] = [];
      for (;;) {
        this.skipNewlines();
        if (this.isPunct('}')) break;
        const comments = this.takeComments();
        const keyToken = this.next();
        let key: string;
        if (keyToken.t === 'ident') key = keyToken.v;
        else if (keyToken.t === 'string' && keyToken.parts.every((p) => typeof p === 'string')) key = keyToken.parts.join('');
        else if (keyToken.t === 'string') key = `\${${keyToken.parts.map((p) => (typeof p === 'string' ? p : p.source)).join('')}}`;
        else this.fail('expected a property name', keyToken);
        this.expectPunct(':');
        properties.push({ key, value: this.parseExpr(), comments: [...comments, ...this.takeComments()], line: keyToken.line });
        this.endOfItem('}');
      }
      this.next();
      this.takeComments(); // comments closing the object belong to nothing after it
      return { kind: 'object', properties, line };
    });
  }

  private parseArray(line: number): Expr {
    return this.withItems(() => {
      this.skipNewlines();
      if (this.isIdent('for')) {
        this.next();
        let item: string;
        let index: string | undefined;
        if (this.isPunct('(')) {
          this.next();
          item = this.expectIdent();
          this.expectPunct(',');
          index = this.expectIdent();
          this.expectPunct(')');
        } else {
          item = this.expectIdent();
        }
        this.expectIdent('in');
        this.parenDepth = 1;
        const source = this.parseExpr();
        this.parenDepth = 0;
        this.expectPunct(':');
        const body = this.parseExpr();
        this.skipNewlines();
        this.expectPunct(']');
        return { kind: 'for', item, index, source, body, line };
      }
      const items: Expr[] = [];
      while (!this.isPunct(']')) {
        items.push(this.parseExpr());
        this.endOfItem(']');
      }
      this.next();
      this.takeComments();
      return { kind: 'array', items, line };
    });
  }
}

function parseExpression(source: string, path: string, line: number): Expr {
  const parser = new Parser(lex(source, path, line), path);
  const expr = parser.parseExpr();
  return expr;
}

export function parseBicep(source: string, path = 'inline.bicep'): BicepFile {
  return { path, declarations: new Parser(lex(source, path), path).parseFile() };
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

/** Resource and module bodies: the object inside `if (...)` and `[for ...: ...]`. */
export function bodyOf(expr: Expr | undefined): { body?: Extract<Expr, { kind: 'object' }> | undefined; condition?: Expr | undefined; loop?: Extract<Expr, { kind: 'for' }> | undefined } {
  let loop: Extract<Expr, { kind: 'for' }> | undefined;
  let condition: Expr | undefined;
  let e = expr;
  if (e?.kind === 'for') {
    loop = e;
    e = e.body;
  }
  if (e?.kind === 'if') {
    condition = e.condition;
    e = e.body;
  }
  return { body: e?.kind === 'object' ? e : undefined, condition, loop };
}

/** A property of an object literal by dotted path ('properties.functionAppConfig.runtime'). */
export function prop(expr: Expr | undefined, path: string): Expr | undefined {
  let e = expr;
  for (const key of path.split('.')) {
    if (e?.kind !== 'object') return undefined;
    e = e.properties.find((p) => p.key === key)?.value;
  }
  return e;
}

export function declarations(file: BicepFile, kind: Declaration['kind']): Declaration[] {
  return file.declarations.filter((d) => d.kind === kind);
}

export function find(file: BicepFile, kind: Declaration['kind'], name: string): Declaration | undefined {
  return file.declarations.find((d) => d.kind === kind && d.name === name);
}

/** Resources of a type (without the API version). */
export function resourcesOfType(file: BicepFile, type: string): Declaration[] {
  return declarations(file, 'resource').filter((d) => d.type?.split('@')[0]?.toLowerCase() === type.toLowerCase());
}

/** Source-like rendering of an expression (for messages and structural comparisons). */
export function render(e: Expr | undefined): string {
  if (!e) return '';
  switch (e.kind) {
    case 'string':
      return `'${e.parts.map((p) => (typeof p === 'string' ? p : `\${${render(p)}}`)).join('')}'`;
    case 'number':
    case 'bool':
      return String(e.value);
    case 'null':
      return 'null';
    case 'ident':
      return e.name;
    case 'member':
      return `${render(e.object)}.${e.property}`;
    case 'index':
      return `${render(e.object)}[${render(e.index)}]`;
    case 'call':
      return `${render(e.callee)}(${e.args.map(render).join(', ')})`;
    case 'object':
      return `{ ${e.properties.map((p) => `${p.key}: ${render(p.value)}`).join(', ')} }`;
    case 'array':
      return `[${e.items.map(render).join(', ')}]`;
    case 'for':
      return `[for ${e.index ? `(${e.item}, ${e.index})` : e.item} in ${render(e.source)}: ${render(e.body)}]`;
    case 'if':
      return `if (${render(e.condition)}) ${render(e.body)}`;
    case 'ternary':
      return `${render(e.condition)} ? ${render(e.then)} : ${render(e.otherwise)}`;
    case 'binary':
      return `${render(e.left)} ${e.op} ${render(e.right)}`;
    case 'unary':
      return `${e.op}${render(e.operand)}`;
    case 'lambda':
      return `(${e.params.join(', ')}) => ${render(e.body)}`;
  }
}

/** Every string literal fragment in an expression tree (for secret scans). */
export function stringLiterals(e: Expr | undefined, out: string[] = []): string[] {
  if (!e) return out;
  switch (e.kind) {
    case 'string':
      for (const p of e.parts) if (typeof p === 'string') out.push(p);
      else stringLiterals(p, out);
      break;
    case 'member':
      stringLiterals(e.object, out);
      break;
    case 'index':
      stringLiterals(e.object, out);
      stringLiterals(e.index, out);
      break;
    case 'call':
      stringLiterals(e.callee, out);
      e.args.forEach((a) => stringLiterals(a, out));
      break;
    case 'object':
      e.properties.forEach((p) => {
        out.push(p.key);
        stringLiterals(p.value, out);
      });
      break;
    case 'array':
      e.items.forEach((i) => stringLiterals(i, out));
      break;
    case 'for':
      stringLiterals(e.source, out);
      stringLiterals(e.body, out);
      break;
    case 'if':
      stringLiterals(e.condition, out);
      stringLiterals(e.body, out);
      break;
    case 'ternary':
      stringLiterals(e.condition, out);
      stringLiterals(e.then, out);
      stringLiterals(e.otherwise, out);
      break;
    case 'binary':
      stringLiterals(e.left, out);
      stringLiterals(e.right, out);
      break;
    case 'unary':
      stringLiterals(e.operand, out);
      break;
    case 'lambda':
      stringLiterals(e.body, out);
      break;
    default:
      break;
  }
  return out;
}

/** Every call in an expression tree. */
export function calls(e: Expr | undefined, out: Array<Extract<Expr, { kind: 'call' }>> = []): Array<Extract<Expr, { kind: 'call' }>> {
  if (!e) return out;
  if (e.kind === 'call') out.push(e);
  const children: Array<Expr | undefined> =
    e.kind === 'string'
      ? e.parts.filter((p): p is Expr => typeof p !== 'string')
      : e.kind === 'member'
        ? [e.object]
        : e.kind === 'index'
          ? [e.object, e.index]
          : e.kind === 'call'
            ? [e.callee, ...e.args]
            : e.kind === 'object'
              ? e.properties.map((p) => p.value)
              : e.kind === 'array'
                ? e.items
                : e.kind === 'for'
                  ? [e.source, e.body]
                  : e.kind === 'if'
                    ? [e.condition, e.body]
                    : e.kind === 'ternary'
                      ? [e.condition, e.then, e.otherwise]
                      : e.kind === 'binary'
                        ? [e.left, e.right]
                        : e.kind === 'unary'
                          ? [e.operand]
                          : e.kind === 'lambda'
                            ? [e.body]
                            : [];
  for (const child of children) calls(child, out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation of what is known before deployment

/** A parameter without a known value (its name). */
export interface ParamRef {
  readonly param: string;
}
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value } | ParamRef | typeof UNKNOWN;

export const isParamRef = (v: Value): v is ParamRef => typeof v === 'object' && v !== null && !Array.isArray(v) && 'param' in v && Object.keys(v).length === 1;

/** Folds an expression with the file's vars and parameter defaults; what depends on deployment is UNKNOWN. */
export function evaluate(e: Expr | undefined, file: BicepFile, options: { paramDefaults?: boolean } = {}, seen = new Set<string>()): Value {
  if (!e) return UNKNOWN;
  switch (e.kind) {
    case 'string': {
      let text = '';
      for (const part of e.parts) {
        if (typeof part === 'string') text += part;
        else {
          const v = evaluate(part, file, options, seen);
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return UNKNOWN;
          text += String(v);
        }
      }
      return text;
    }
    case 'number':
    case 'bool':
      return e.value;
    case 'null':
      return null;
    case 'ident': {
      if (seen.has(e.name)) return UNKNOWN;
      const declaration = file.declarations.find((d) => (d.kind === 'var' || d.kind === 'param') && d.name === e.name);
      if (!declaration) return UNKNOWN;
      if (declaration.kind === 'param') {
        return options.paramDefaults && declaration.value ? evaluate(declaration.value, file, options, new Set([...seen, e.name])) : { param: e.name };
      }
      return evaluate(declaration.value, file, options, new Set([...seen, e.name]));
    }
    case 'member': {
      const object = evaluate(e.object, file, options, seen);
      if (typeof object === 'object' && object !== null && !Array.isArray(object) && !isParamRef(object) && e.property in object) {
        return (object as Record<string, Value>)[e.property]!;
      }
      return UNKNOWN;
    }
    case 'index': {
      const object = evaluate(e.object, file, options, seen);
      const index = evaluate(e.index, file, options, seen);
      if (Array.isArray(object) && typeof index === 'number') return object[index] ?? UNKNOWN;
      if (typeof object === 'object' && object !== null && !Array.isArray(object) && typeof index === 'string' && index in object) {
        return (object as Record<string, Value>)[index]!;
      }
      return UNKNOWN;
    }
    case 'object': {
      const out: Record<string, Value> = {};
      for (const p of e.properties) out[p.key] = evaluate(p.value, file, options, seen);
      return out;
    }
    case 'array':
      return e.items.map((i) => evaluate(i, file, options, seen));
    default:
      return UNKNOWN;
  }
}
