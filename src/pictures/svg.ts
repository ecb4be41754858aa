// The one SVG writer of the pictures: an element tree that is serialised with every text node and
// every attribute value escaped here and nowhere else. Pictures build trees, never markup strings,
// so a VM id, a device id or a package name cannot become markup (design/svg-picture.md §4).
//
// It also refuses active content outright (script, foreignObject, on* handlers, href), so no
// picture can link out or run anything whatever its input: the contract's "no script, no
// external reference".

import { INK, MUTED } from './palette.js';

export type AttrValue = string | number | boolean | undefined | null;
export type Attrs = Readonly<Record<string, AttrValue>>;
export type SvgChild = SvgElement | string | false | null | undefined;

export interface SvgElement {
  readonly name: string;
  readonly attrs: Attrs;
  readonly children: readonly SvgChild[];
}

const NAME = /^[a-zA-Z][a-zA-Z0-9-]*$/;
const FORBIDDEN_ELEMENTS = new Set(['script', 'foreignobject', 'image', 'a', 'use', 'iframe', 'style']);
const isForbiddenAttribute = (name: string) =>
  /^on/i.test(name) || /href$/i.test(name) || name.toLowerCase() === 'style';

/** Builds an element; attributes whose value is undefined, null or false are left out. */
export function el(name: string, attrs: Attrs = {}, ...children: (SvgChild | readonly SvgChild[])[]): SvgElement {
  if (!NAME.test(name) || FORBIDDEN_ELEMENTS.has(name.toLowerCase()))
    throw new Error(`pictures do not write <${name}>`);
  for (const key of Object.keys(attrs)) {
    if (!/^[a-zA-Z][a-zA-Z0-9:-]*$/.test(key) || isForbiddenAttribute(key))
      throw new Error(`pictures do not write the attribute ${key}`);
  }
  return { name, attrs, children: children.flat() };
}

// XML 1.0 allows tab, LF, CR and U+0020 upwards except lone surrogates, U+FFFE and U+FFFF; one
// other character makes the whole document unreadable (svg-picture.md §1, the Graphviz finding),
// so each becomes U+FFFD.
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Tab, LF and CR as character references too: a parser would otherwise turn them into spaces in
// an attribute value and CR into LF in text, and the text would not read back as it was.
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Escapes text for an XML text node or a double-quoted attribute value. The only escaping in src/pictures. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '\ufffd').replace(/[&<>"'\t\n\r]/g, (c) => ENTITIES[c]!);
}

function formatAttr(value: Exclude<AttrValue, undefined | null | false>): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return escapeXml(String(value));
}

/** Serialises a tree; text children are escaped, attribute values too. */
export function serialize(node: SvgChild): string {
  if (node === undefined || node === null || node === false) return '';
  if (typeof node === 'string') return escapeXml(node);
  const attrs = Object.entries(node.attrs)
    .filter(
      (entry): entry is [string, Exclude<AttrValue, undefined | null | false>] =>
        entry[1] !== undefined && entry[1] !== null && entry[1] !== false,
    )
    .map(([k, v]) => ` ${k}="${formatAttr(v)}"`)
    .join('');
  const inner = node.children.map(serialize).join('');
  return inner === '' ? `<${node.name}${attrs}/>` : `<${node.name}${attrs}>${inner}</${node.name}>`;
}

export interface SvgDocumentOptions {
  readonly title: string;
  readonly desc: string;
  readonly width: number;
  readonly height: number;
  readonly body: readonly SvgChild[];
}

/**
 * A standalone picture: xmlns, role="img", <title> and <desc> first (referenced by
 * aria-labelledby / aria-describedby), a viewBox, and a white background so it reads on a dark
 * page too. Presentation attributes only, no <style>: GitHub's image hosts have served SVGs with
 * a CSP that turns inline CSS off (svg-picture.md §4).
 */
export function svgDocument({ title, desc, width, height, body }: SvgDocumentOptions): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  const root = el(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      role: 'img',
      'aria-labelledby': 'picture-title',
      'aria-describedby': 'picture-desc',
      viewBox: `0 0 ${w} ${h}`,
      width: w,
      height: h,
      'font-family': FONT_FAMILY,
    },
    el('title', { id: 'picture-title' }, title),
    el('desc', { id: 'picture-desc' }, desc),
    el('rect', { x: 0, y: 0, width: w, height: h, fill: '#ffffff' }),
    ...body,
  );
  return `${serialize(root)}\n`;
}

/** Monospace everywhere: addresses and ids line up, and text widths are known without measuring. */
export const FONT_FAMILY = 'DejaVu Sans Mono, Menlo, Consolas, monospace';
/** Advance of one character of the monospace fonts above, in em (DejaVu Sans Mono 0.602). */
const CHAR_EM = 0.61;

export const textWidth = (text: string, fontSize: number) => [...text].length * fontSize * CHAR_EM;

/** How many characters fit in `width` at `fontSize`. */
export const charsThatFit = (width: number, fontSize: number) => Math.max(1, Math.floor(width / (fontSize * CHAR_EM)));

/** Shortens text to `max` characters with an ellipsis; the caller keeps the full text for a tooltip. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/**
 * One line of text that fits `width`: cut with an ellipsis when it does not, and then the full
 * text as its <title>, so the cut part is still there for a pointer and a screen reader.
 */
export function fittedText(
  text: string,
  width: number,
  attrs: Attrs & { x: number; y: number; 'font-size': number },
): SvgElement {
  const shown = truncate(text, charsThatFit(width, attrs['font-size']));
  const line = el('text', attrs, shown);
  return shown === text ? line : el('g', {}, el('title', {}, text), line);
}

/** Breaks text into lines of at most `max` characters, at spaces where it can. */
export function wrapText(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if ([...candidate].length <= max) {
      line = candidate;
      continue;
    }
    if (line !== '') lines.push(line);
    let rest = word;
    while ([...rest].length > max) {
      lines.push([...rest].slice(0, max).join(''));
      rest = [...rest].slice(max).join('');
    }
    line = rest;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A picture's title (bold, 16) and, under it, one muted line (12), each cut to `width` at `x`. */
export function pictureHeading(title: string, subtitle: string, x: number, top: number, width: number): SvgChild[] {
  return [
    fittedText(title, width, { x, y: top + 16, 'font-size': 16, 'font-weight': 'bold', fill: INK }),
    fittedText(subtitle, width, { x, y: top + 36, 'font-size': 12, fill: MUTED }),
  ];
}
