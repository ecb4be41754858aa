// The OpenAPI document as the route schemas generate it, serialized the way it is committed.

import { buildApp } from '../src/api/app';
import { createServices } from '../src/app/services';
import { createStores } from '../src/db/index';

export const OPENAPI_PATH = new URL('../openapi/openapi.json', import.meta.url);

export async function generateOpenApi(): Promise<string> {
  const stores = await createStores(':memory:');
  const app = await buildApp({ services: createServices(stores) });
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    await stores.close();
  }
}
