// npm run openapi: regenerates openapi/openapi.json from the route schemas.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateOpenApi, OPENAPI_PATH } from './openapi-document';

writeFileSync(OPENAPI_PATH, await generateOpenApi());
console.log(`wrote ${fileURLToPath(OPENAPI_PATH)}`);
