// Colours and strokes shared by the pictures. Every meaning also has words or a line style, so a
// picture still reads in greyscale or for a reader who cannot tell red from green.

import type { CellState, Tone } from './resolution-grid.js';

export const INK = '#1a1a1a';
export const MUTED = '#5f6368';
export const RULE = '#9aa0a6';

export interface BoxStyle {
  readonly fill: string;
  readonly stroke: string;
  readonly strokeWidth: number;
  readonly dash?: string;
  readonly text: string;
}

export const CELL_STYLES: Record<CellState, BoxStyle> = {
  ok: { fill: '#f1f8e9', stroke: '#558b2f', strokeWidth: 1, text: INK },
  fault: { fill: '#ffebee', stroke: '#c62828', strokeWidth: 3.5, text: '#8e0000' },
  misrouted: { fill: '#fff3e0', stroke: '#e65100', strokeWidth: 2, text: '#8a3a00' },
  'no-route': { fill: '#fff5f5', stroke: '#c62828', strokeWidth: 1.2, dash: '6 3', text: '#8e0000' },
  'not-reached': { fill: '#fafafa', stroke: RULE, strokeWidth: 1, dash: '4 4', text: MUTED },
  unused: { fill: '#ffffff', stroke: '#dadce0', strokeWidth: 1, text: MUTED },
  'not-in-record': { fill: '#ffffff', stroke: '#dadce0', strokeWidth: 1, dash: '2 3', text: MUTED },
  unknown: { fill: '#f3f6fb', stroke: '#7b8fb3', strokeWidth: 1, dash: '6 3', text: '#3c4a66' },
};

export const TONE_COLOURS: Record<Tone, string> = { good: '#2e7d32', bad: '#c62828', warn: '#e65100', neutral: MUTED };

/** Fleet chart: one colour per verdict, the legend names each. */
export const VERDICT_COLOURS: Readonly<Record<string, string>> = {
  'loses-interrupts': '#c62828',
  'broken-by-target': '#ef6c00',
  'fixed-by-target': '#1565c0',
  ok: '#2e7d32',
  'unknown-build': '#78909c',
  'no-accel': '#cfd8dc',
};
export const OTHER_VERDICT_COLOUR = '#9e9e9e';
