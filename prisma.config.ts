// Prisma CLI configuration (Prisma 7 reads the connection URL from here, not from schema.prisma).
// `prisma migrate deploy` applies prisma/migrations/ wherever the schema engine is available;
// `npm run db:migrate` applies the same folders without it (scripts/db-migrate.mjs).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate' },
});
