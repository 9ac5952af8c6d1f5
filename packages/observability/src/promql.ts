import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';

/** One label matcher of a selector: `outcome="failed"`, `source=~"a|b"`. */
export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** A series selector of a PromQL expression: the metric it names and its label matchers. */
export interface SeriesSelector {
  /** Undefined for a selector without a name (`{job="x"}`). */
  metric: string | undefined;
  matchers: LabelMatcher[];
}

/** What Prometheus's own grammar makes of an expression. */
export interface ParsedPromql {
  selectors: SeriesSelector[];
  /** Offsets where the expression stops being PromQL, each with the text from there. */
  errors: { at: number; near: string }[];
}

/** The text of a string literal, quotes removed and escapes applied. */
function stringValue(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  if (literal.startsWith("'"))
    return JSON.parse(`"${literal.slice(1, -1).replace(/"/g, '\\"')}"`) as string;
  return JSON.parse(literal) as string;
}

function matcherOf(node: SyntaxNode, text: (n: SyntaxNode) => string): LabelMatcher | undefined {
  const name = node.getChild('LabelName') ?? node.getChild('QuotedLabelName');
  const op = node.getChild('MatchOp');
  const value = node.getChild('StringLiteral');
  if (!name || !op || !value) return undefined;
  const label = name.name === 'QuotedLabelName' ? stringValue(text(name)) : text(name);
  return { label, op: text(op) as LabelMatcher['op'], value: stringValue(text(value)) };
}

/**
 * Parses a PromQL expression with the grammar Prometheus's own UI uses (lezer-promql) and
 * lists the series it selects, so a test can ask Prometheus whether each one exists. Grafana
 * variables must be substituted first (see `withGrafanaVariables`).
 */
export function parsePromql(expr: string): ParsedPromql {
  const tree = parser.parse(expr);
  const text = (node: SyntaxNode) => expr.slice(node.from, node.to);
  const selectors: SeriesSelector[] = [];
  const errors: ParsedPromql['errors'] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push({ at: ref.from, near: expr.slice(ref.from, ref.from + 40) });
        return;
      }
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const matchers: LabelMatcher[] = [];
      let metric = node.getChild('Identifier') ? text(node.getChild('Identifier')!) : undefined;
      for (const list of node.getChildren('LabelMatchers')) {
        for (let child = list.firstChild; child; child = child.nextSibling) {
          if (child.name === 'QuotedLabelName') {
            // `{"metric:name"}`: a quoted metric name on its own.
            metric = stringValue(text(child));
            continue;
          }
          const matcher = matcherOf(child, text);
          if (!matcher) continue;
          if (matcher.label === '__name__' && matcher.op === '=') metric = matcher.value;
          else matchers.push(matcher);
        }
      }
      selectors.push({ metric, matchers });
    },
  });
  return { selectors, errors };
}

/**
 * Grafana's variables replaced by what they stand for at query time, so a dashboard query
 * can be parsed and run as plain PromQL: `$__rate_interval` by a range a scrape interval
 * of 30 s fits four times, every other `$variable` (namespace and the like, "All" selected)
 * by `.*`.
 */
export function withGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '2m')
    .replace(/\$__interval|\$\{__interval\}/g, '1m')
    .replace(/\$__range|\$\{__range\}/g, '1h')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*');
}
