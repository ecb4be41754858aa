// drizzle-kit for the SQLite schema (the embedded default). PostgreSQL has its own config,
// drizzle.pg.config.ts: drizzle cannot share one table definition between the two dialects.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/sqlite/schema.ts',
  out: './migrations/sqlite',
});
