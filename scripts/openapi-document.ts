// The OpenAPI document as the route schemas generate it, serialized the way it is committed.

import { buildApp } from '../src/api/app';
import { createStores } from '../src/db/index';

export const OPENAPI_PATH = new URL('../openapi/openapi.json', import.meta.url);

export async function generateOpenApi(): Promise<string> {
  const stores = await createStores(':memory:');
  const app = await buildApp({ stores });
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    await stores.close();
  }
}
