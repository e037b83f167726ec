/**
 * The store's schema as ordered migrations. `PRAGMA user_version` records the
 * last one applied; each migration's SQL ends by setting it to its own
 * version, literally (PRAGMA takes no bound parameters), and runs inside one
 * IMMEDIATE transaction with the version check, so two processes opening a
 * new file at once cannot both migrate it.
 *
 * Rules: never edit a released migration; append a new one. Tables are
 * STRICT, so a value of the wrong type is refused instead of coerced.
 */

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE tickets (
        secret_hash    TEXT PRIMARY KEY,
        project        TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        uses_remaining INTEGER NOT NULL CHECK (uses_remaining >= 0),
        attributes     TEXT NOT NULL,
        relay          TEXT,
        enroller       INTEGER NOT NULL CHECK (enroller IN (0, 1)),
        created_by     TEXT NOT NULL
      ) STRICT;

      CREATE TABLE members (
        identifier  TEXT PRIMARY KEY,
        project     TEXT NOT NULL,
        attributes  TEXT NOT NULL,
        relay       TEXT,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'enroller', 'member')),
        enrolled_at INTEGER NOT NULL,
        revoked_at  INTEGER,
        ticket_hash TEXT
      ) STRICT;

      CREATE TABLE relays (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL REFERENCES members (identifier) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE INDEX relays_owner ON relays (owner);

      PRAGMA user_version = 1;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;
