// How a picture answer is described: image/svg+xml with the headers every picture carries.

import { Type } from '@sinclair/typebox';
import { errorResponses } from './common.js';

const header = (description: string) => ({ type: 'string', description });

export function svgResponses(description: string, options: { etag?: boolean } = {}) {
  const headers: Record<string, object> = {
    'Content-Security-Policy': header("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    'X-Content-Type-Options': header('nosniff'),
  };
  if (options.etag === true) headers.ETag = header('the VM version (and semantics) drawn; If-None-Match answers 304');
  return {
    200: {
      description,
      headers,
      content: {
        'image/svg+xml': { schema: Type.String({ description: 'an SVG document (role="img", <title>, <desc>)' }) },
      },
    },
    ...errorResponses(400, 404),
  };
}
