import { describe, expect, it } from '@jest/globals';
import { parseTelegramHtml } from '@herald/testing';
import { formatAnswer, inlineHtml, MESSAGE_LIMIT, plainText } from '../src/format.js';

/** Each message must be accepted by Telegram's parser and fit its limit. */
function expectTelegramAccepts(messages: string[]): string {
  let visible = '';
  for (const html of messages) {
    const parsed = parseTelegramHtml(html);
    if (!parsed.ok) throw new Error(`${parsed.error} in ${html.slice(0, 300)}`);
    expect(parsed.text.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    visible += parsed.text;
  }
  return visible;
}

describe('formatAnswer', () => {
  it('escapes HTML-hostile text and keeps markdown that does not close literal', () => {
    const [html = ''] = formatAnswer(
      'a < b && c > d; **bold and `stray tick; 2 * 3 = 6 and_snake_case_name',
    );
    expect(html).toBe(
      'a &lt; b &amp;&amp; c &gt; d; **bold and `stray tick; 2 * 3 = 6 and_snake_case_name',
    );
    expectTelegramAccepts([html]);
  });

  it('turns markdown into Telegram HTML with balanced tags', () => {
    const [html = ''] = formatAnswer(
      '# Gold today\n\n**Up 2%** on _ETF inflows_, see [the report](https://example.com/a?b=1&c=2).\n\n- one\n- `two`\n\n> quoted **text**',
    );
    expect(html).toContain('<b>Gold today</b>');
    expect(html).toContain('<b>Up 2%</b> on <i>ETF inflows</i>');
    expect(html).toContain('<a href="https://example.com/a?b=1&amp;c=2">the report</a>');
    expect(html).toContain('• <code>two</code>');
    expect(html).toContain('<blockquote>quoted <b>text</b></blockquote>');
    expectTelegramAccepts([html]);
  });

  it('renders fenced code with its language, and closes a fence the model forgot', () => {
    const [html = ''] = formatAnswer(
      'Run:\n```python\nif a < b:\n    print("<&>")\n```\nand\n```\nunclosed <code>',
    );
    expect(html).toContain(
      '<pre><code class="language-python">if a &lt; b:\n    print("&lt;&amp;&gt;")</code></pre>',
    );
    expect(html).toContain('<pre><code>unclosed &lt;code&gt;</code></pre>');
    expectTelegramAccepts([html]);
  });

  it('splits a 6,000-character answer below 4,096 at paragraph boundaries, losing nothing', () => {
    const paragraphs = Array.from(
      { length: 30 },
      (_, n) => `Paragraph ${n}: ${'gold and **RWA** '.repeat(11)}`,
    );
    const markdown = paragraphs.join('\n\n');
    expect(markdown.length).toBeGreaterThan(6_000);
    const messages = formatAnswer(markdown);
    expect(messages.length).toBeGreaterThan(1);
    const visible = expectTelegramAccepts(messages);
    for (let n = 0; n < 30; n += 1) expect(visible).toContain(`Paragraph ${n}:`);
    // Every message ends at a paragraph's end.
    for (const html of messages) expect(plainText(html).trimEnd()).toMatch(/RWA$/);
  });

  it('splits a code block too long for one message into closed code blocks', () => {
    const code = Array.from({ length: 400 }, (_, n) => `line_${n} = "<${n}>"`).join('\n');
    const messages = formatAnswer(`Here:\n\n\`\`\`js\n${code}\n\`\`\``);
    expect(messages.length).toBeGreaterThan(1);
    const visible = expectTelegramAccepts(messages);
    for (const n of [0, 199, 399]) expect(visible).toContain(`line_${n} = "<${n}>"`);
    for (const html of messages.slice(1))
      expect(html.startsWith('<pre><code class="language-js">')).toBe(true);
  });

  it('cuts one enormous paragraph at word boundaries', () => {
    const words = Array.from({ length: 2_000 }, (_, n) => `w${n}`).join(' ');
    const messages = formatAnswer(words);
    const visible = expectTelegramAccepts(messages);
    expect(visible.replace(/\s+/g, ' ')).toContain('w0 w1');
    expect(visible).toContain('w1999');
    for (const html of messages) expect(html).not.toMatch(/w\d+$\n?^\d/m);
  });

  it('puts the reasoning in an expandable quote before the answer', () => {
    const [html = ''] = formatAnswer('The answer.', { reasoning: 'I think <this> & that' });
    expect(html).toBe(
      '<blockquote expandable>I think &lt;this&gt; &amp; that</blockquote>\n\nThe answer.',
    );
    expectTelegramAccepts([html]);
  });
});

describe('inlineHtml', () => {
  it('handles nesting and adjacent markers', () => {
    expect(inlineHtml('**bold _and italic_**')).toBe('<b>bold <i>and italic</i></b>');
    expect(inlineHtml('*a* *b*')).toBe('<i>a</i> <i>b</i>');
    expect(inlineHtml('~~gone~~')).toBe('<s>gone</s>');
    expect(inlineHtml('** not bold **')).toBe('** not bold **');
  });
});
