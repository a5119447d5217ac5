// Hand-drawn SVG, the pieces every chart of this repo shares (the benchmark's
// charts, strategy 5's demo): text escaped for XML, and the document around a
// chart - its size, a <title> and <desc> a screen reader can find, a white
// background, the title drawn at the top left. What goes inside is each
// chart's own: plain strings, no chart library to install or learn.

export const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

export const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface SvgFrame {
  width: number;
  height: number;
  title: string;
  /** What the chart shows, in words. */
  desc: string;
  /** Font size of the drawn title; default 15. */
  titleSize?: number;
}

/** A whole SVG file: the frame around `body` (elements, one per string). */
export function svgDocument({ width, height, title, desc, titleSize = 15 }: SvgFrame, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>${escapeXml(desc)}</desc>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="${titleSize}" font-weight="600" fill="#222">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
