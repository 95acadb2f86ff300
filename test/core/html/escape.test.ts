import { escapeHtml } from '../../../src/core/html/escape';

describe('escapeHtml', () => {
  it.each([
    ['&', '&amp;'],
    ['<', '&lt;'],
    ['>', '&gt;'],
    ['"', '&quot;'],
    ["'", '&#39;'],
    ['`', '&#96;'],
  ])('escapes %s', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it('escapes every occurrence and leaves everything else alone', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\` – ü`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96; – ü',
    );
  });

  it('escapes an ampersand once, so existing entities are shown literally', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });

  it('keeps an attribute value inside its quotes', () => {
    const value = escapeHtml('" onmouseover="alert(1)');
    expect(`<a title="${value}">`).toBe('<a title="&quot; onmouseover=&quot;alert(1)">');
  });
});
