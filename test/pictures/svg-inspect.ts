// Reads a picture back the way a browser or an XML tool would: a strict XML parse (any error or
// warning fails), then plain DOM queries. Shared by the picture tests.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, onErrorStopParsing, type Document, type Element } from '@xmldom/xmldom';
import { expect } from 'vitest';

const SVG_NS = 'http://www.w3.org/2000/svg';
// XML 1.0 Char: a document with anything else is not XML, whatever a lenient parser does with it.
// (xmldom only warns about some of these, and warns about U+FFFD too, so errors stop the parse
// and this check catches the characters.)
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function parseSvg(svg: string): Document {
  expect(NOT_XML_CHAR.test(svg), 'a character XML does not allow').toBe(false);
  return new DOMParser({ onError: onErrorStopParsing }).parseFromString(svg, 'image/svg+xml');
}

export const all = (node: Document | Element, tag: string): Element[] =>
  Array.from(node.getElementsByTagNameNS(SVG_NS, tag));

/** Elements carrying `attribute` (with `value`, when given). */
export function withAttribute(doc: Document, attribute: string, value?: string): Element[] {
  return all(doc, '*').filter(
    (e) => e.hasAttribute(attribute) && (value === undefined || e.getAttribute(attribute) === value),
  );
}

/** The text a reader sees in an element: its <text> nodes, not its tooltips. */
export const visibleText = (node: Document | Element): string =>
  all(node, 'text')
    .map((t) => t.textContent ?? '')
    .join('\n');

/**
 * What every picture must be (contract, "Pictures"): xmlns, role="img", <title> then <desc>
 * first, a viewBox, readable sizes, no script, no external reference, no event handler, no CSS.
 */
export function expectWellFormedPicture(svg: string): Document {
  const doc = parseSvg(svg);
  const root = doc.documentElement!;
  expect(root.namespaceURI).toBe(SVG_NS);
  expect(root.localName).toBe('svg');
  expect(root.getAttribute('role')).toBe('img');
  expect(root.getAttribute('viewBox')).toMatch(/^0 0 \d+ \d+$/);
  const elements = Array.from(root.childNodes).filter((n): n is Element => n.nodeType === 1);
  expect(elements[0]?.localName).toBe('title');
  expect(elements[1]?.localName).toBe('desc');
  expect(elements[0]!.textContent!.length).toBeGreaterThan(5);
  expect(elements[1]!.textContent!.length).toBeGreaterThan(10);
  for (const forbidden of ['script', 'foreignObject', 'image', 'a', 'use', 'style', 'iframe'])
    expect(all(doc, forbidden), forbidden).toEqual([]);
  for (const e of all(doc, '*')) {
    for (const a of Array.from(e.attributes)) {
      expect(a.name, `${e.localName} ${a.name}`).not.toMatch(/^on|href$|^style$/i);
      expect(a.value, `${e.localName} ${a.name}`).not.toMatch(/url\(|javascript:/i);
    }
  }
  expect(svg).not.toMatch(/<\?xml-stylesheet|<!DOCTYPE|<!ENTITY/i);
  // Readable: nothing below 9 px.
  for (const t of withAttribute(doc, 'font-size'))
    expect(Number(t.getAttribute('font-size'))).toBeGreaterThanOrEqual(9);
  return doc;
}

/** Keeps a picture where a person can open it: test-output/ (git-ignored by its own .gitignore). */
export function savePicture(name: string, svg: string): void {
  const dir = join(process.cwd(), 'test-output', 'pictures');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(process.cwd(), 'test-output', '.gitignore'), '*\n');
  writeFileSync(join(dir, name), svg);
}
