// The DOM helpers the libvirt reader shares: parsing with positions, children, attributes. Parsed
// with @xmldom/xmldom, which gives every element its line and column; warnings (an unquoted
// attribute) stop it too, as libxml2 in libvirt refuses such XML.

import { DOMParser, type Document, type Element, onWarningStopParsing, ParseError } from '@xmldom/xmldom';
import { malformed, type SourceRef } from '../report.js';

export type { Element };

export const atOf = (e: Element): SourceRef => ({ line: e.lineNumber ?? 0, column: e.columnNumber ?? 0 });

export const children = (e: Element, name?: string): Element[] =>
  Array.from(e.childNodes).filter(
    (n): n is Element => n.nodeType === 1 && (name === undefined || (n as Element).tagName === name),
  );

export const child = (e: Element, name: string): Element | undefined => children(e, name)[0];

export const attr = (e: Element | undefined, name: string): string | undefined =>
  e?.hasAttribute(name) ? e.getAttribute(name)! : undefined;

/** An element as a reader finds it: its name with the attributes that say what it is. */
export function describe(e: Element): string {
  const attrs = ['type', 'model', 'index']
    .filter((a) => e.hasAttribute(a))
    .map((a) => ` ${a}='${e.getAttribute(a)}'`)
    .join('');
  return `<${e.tagName}${attrs}>`;
}

export function parseXml(source: string): Document {
  try {
    return new DOMParser({ onError: onWarningStopParsing }).parseFromString(source, 'text/xml');
  } catch (error) {
    if (error instanceof ParseError) {
      const { lineNumber = 0, columnNumber = 0 } = error.locator ?? {};
      const reason = error.message.replace(/^.*caused Error: /s, '');
      throw malformed(`the XML does not parse: ${reason}`, { line: lineNumber, column: columnNumber });
    }
    throw error;
  }
}
