/** Migrations, applied in order; PRAGMA user_version records the last one. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE tickets (
     secret_hash TEXT PRIMARY KEY,
     project TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     uses_remaining INTEGER NOT NULL CHECK (uses_remaining >= 0),
     attributes TEXT NOT NULL,
     relay TEXT,
     enroller INTEGER NOT NULL,
     created_by TEXT NOT NULL
   );
   CREATE TABLE members (
     identifier TEXT PRIMARY KEY,
     project TEXT NOT NULL,
     attributes TEXT NOT NULL,
     relay TEXT,
     role TEXT NOT NULL CHECK (role IN ('admin', 'enroller', 'member')),
     enrolled_at INTEGER NOT NULL,
     revoked_at INTEGER,
     ticket_hash TEXT
   );
   CREATE TABLE relays (
     name TEXT PRIMARY KEY,
     owner TEXT NOT NULL REFERENCES members(identifier) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX relays_owner ON relays(owner);`,
];
