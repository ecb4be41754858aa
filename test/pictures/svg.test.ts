// The one SVG writer: whatever text goes in comes out as text, the document stays XML, and
// active content cannot be written at all.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { el, escapeXml, svgDocument, truncate, wrapText } from '../../src/pictures/svg';
import { all, expectWellFormedPicture, parseSvg } from './svg-inspect';

const picture = (text: string) =>
  svgDocument({
    title: `title ${text}`,
    desc: `desc ${text}`,
    width: 200,
    height: 100,
    body: [el('text', { x: 1, y: 20, 'font-size': 12, 'data-label': text }, text)],
  });

describe('svg writer', () => {
  it('escapes the five XML characters in text and attributes', () => {
    expect(escapeXml(`<script>&"'`)).toBe('&lt;script&gt;&amp;&quot;&#39;');
    const doc = expectWellFormedPicture(picture(`<script>alert("x")</script>&'`));
    expect(all(doc, 'script')).toEqual([]);
    expect(all(doc, 'text')[0]!.textContent).toBe(`<script>alert("x")</script>&'`);
    expect(all(doc, 'text')[0]!.getAttribute('data-label')).toBe(`<script>alert("x")</script>&'`);
  });

  it('replaces characters XML does not allow, which would make the whole picture unreadable', () => {
    const doc = parseSvg(picture('a\u0001b\u001fc\ud800d'));
    expect(all(doc, 'text')[0]!.textContent).toBe('a\ufffdb\ufffdc\ufffdd');
  });

  it('keeps any text as text: every string round-trips through a strict XML parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const doc = parseSvg(picture(text));
        const expected = text.replace(
          /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
          '\ufffd',
        );
        expect(all(doc, 'text')[0]!.textContent).toBe(expected);
        expect(all(doc, 'text')[0]!.getAttribute('data-label')).toBe(expected);
        expect(all(doc, '*').every((e) => e.localName !== 'script')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to write script, foreignObject, links, event handlers or CSS', () => {
    expect(() => el('script')).toThrow(/<script>/);
    expect(() => el('foreignObject')).toThrow();
    expect(() => el('a')).toThrow();
    expect(() => el('image')).toThrow();
    expect(() => el('rect', { onclick: 'x()' })).toThrow(/onclick/);
    expect(() => el('use', {})).toThrow();
    expect(() => el('rect', { href: '#x' })).toThrow(/href/);
    expect(() => el('rect', { 'xlink:href': 'http://example.com/' })).toThrow(/href/);
    expect(() => el('rect', { style: 'fill:red' })).toThrow(/style/);
    expect(() => el('g x')).toThrow();
  });

  it('truncates and wraps by characters, never splitting a surrogate pair', () => {
    expect(truncate('0x8090040', 20)).toBe('0x8090040');
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
    expect(truncate('😀😀😀😀', 3)).toBe('😀😀…');
    expect(wrapText('the MSI of hostdev0 is lost', 10)).toEqual(['the MSI of', 'hostdev0', 'is lost']);
    expect(wrapText('0123456789abcdef', 6)).toEqual(['012345', '6789ab', 'cdef']);
  });
});
