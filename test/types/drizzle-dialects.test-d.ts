import type { Client } from "@libsql/client";
import type Database from "better-sqlite3";
import { drizzle as drizzleBetterSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import { varchar } from "drizzle-orm/mysql-core";
import { drizzle as drizzleMysql } from "drizzle-orm/mysql2";
import { text as pgText } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { text as sqliteText } from "drizzle-orm/sqlite-core";
import type { Pool } from "mysql2/promise";
import type { Sql } from "postgres";
import { describe, expectTypeOf, it } from "vitest";
import type { DrizzleSessionStore, DrizzleStoreOptions } from "../../src/stores/drizzle/index.js";
import { drizzleStore, migrate, sessionsTable } from "../../src/stores/drizzle/index.js";
import { sessionsTable as mysqlSessionsTable } from "../../src/stores/drizzle/mysql/index.js";
import { sessionsTable as sqliteSessionsTable } from "../../src/stores/drizzle/sqlite/index.js";

declare const postgresClient: Sql;
declare const libsqlClient: Client;
declare const betterSqliteClient: Database.Database;
declare const mysqlPool: Pool;

const pg = drizzlePostgres({ client: postgresClient });
const libsql = drizzleLibsql({ client: libsqlClient });
const betterSqlite = drizzleBetterSqlite({ client: betterSqliteClient });
const mysql = drizzleMysql({ client: mysqlPool });

const pgTable = sessionsTable("sessions", { columns: { userId: pgText("user_id") } });
const sqliteTable = sqliteSessionsTable("sessions", { columns: { userId: sqliteText("user_id") } });
const mysqlTable = mysqlSessionsTable("sessions", { columns: { userId: varchar("user_id", { length: 64 }) } });

describe("drizzleStore and migrate take a database of every dialect (issue 16)", () => {
  it("one drizzleStore for Postgres, SQLite (libSQL, better-sqlite3) and MySQL, each with its own dialect's table", () => {
    expectTypeOf(drizzleStore({ db: pg })).toEqualTypeOf<DrizzleSessionStore>();
    expectTypeOf(drizzleStore({ db: pg, table: pgTable })).toEqualTypeOf<DrizzleSessionStore>();
    expectTypeOf(drizzleStore({ db: libsql, table: sqliteTable })).toEqualTypeOf<DrizzleSessionStore>();
    expectTypeOf(drizzleStore({ db: betterSqlite, table: sqliteTable })).toEqualTypeOf<DrizzleSessionStore>();
    expectTypeOf(drizzleStore({ db: mysql, table: mysqlTable })).toEqualTypeOf<DrizzleSessionStore>();
    expectTypeOf(migrate).toBeCallableWith(libsql);
    expectTypeOf(migrate).toBeCallableWith(betterSqlite);
    expectTypeOf(migrate).toBeCallableWith(mysql, { migrationsFolder: "drizzle/mysql" });
  });

  it("Parameters<typeof drizzleStore> still reads the Postgres options, as apps written before issue 16 typed their db", () => {
    expectTypeOf<Parameters<typeof drizzleStore>[0]>().toEqualTypeOf<DrizzleStoreOptions>();
  });

  it("a table of another dialect than the database's does not compile", () => {
    // @ts-expect-error a SQLite table on a Postgres database
    drizzleStore({ db: pg, table: sqliteTable });
    // @ts-expect-error a Postgres table on a SQLite database
    drizzleStore({ db: libsql, table: pgTable });
    // @ts-expect-error a Postgres table on a MySQL database
    drizzleStore({ db: mysql, table: pgTable });
    // @ts-expect-error a MySQL table on a SQLite database
    drizzleStore({ db: betterSqlite, table: mysqlTable });
  });

  it("each dialect's table types its indexed column from the builder the app passed", () => {
    expectTypeOf<typeof pgTable.$inferSelect.userId>().toEqualTypeOf<string | null>();
    expectTypeOf<typeof sqliteTable.$inferSelect.userId>().toEqualTypeOf<string | null>();
    expectTypeOf<typeof mysqlTable.$inferSelect.userId>().toEqualTypeOf<string | null>();
    expectTypeOf<typeof sqliteTable.$inferSelect.expiresAt>().toEqualTypeOf<Date>();
    expectTypeOf<typeof mysqlTable.$inferSelect.expiresAt>().toEqualTypeOf<Date>();
  });
});
