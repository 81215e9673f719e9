package dbadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// MySQL and MariaDB keep ownership in a table of kubeship's own on the server (see
// owner.go): one row per user and per database, the primary key making an INSERT the one
// atomic claim of a name.
const (
	ownersDB    = "kubeship"
	ownersTable = "`" + ownersDB + "`.`owners`"

	kindUser     = "user"
	kindDatabase = "database"
)

// MySQL error numbers used here.
const (
	myErrDBExists    = 1007 // ER_DB_CREATE_EXISTS
	myErrDupEntry    = 1062 // ER_DUP_ENTRY
	myErrNoSuchTable = 1146 // ER_NO_SUCH_TABLE
	myErrCannotUser  = 1396 // ER_CANNOT_USER: CREATE USER of an existing user
	myErrUnknownDB   = 1049 // ER_BAD_DB_ERROR
)

func myErrIs(err error, number uint16) bool {
	var e *mysql.MySQLError
	return errors.As(err, &e) && e.Number == number
}

// ensureOwnersTable makes kubeship.owners. Names are compared byte for byte, as MySQL
// compares user names and (on Linux) database names.
func (a *myAdmin) ensureOwnersTable(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + myIdent(ownersDB) + " CHARACTER SET utf8mb4",
		"CREATE TABLE IF NOT EXISTS " + ownersTable + ` (
			kind  VARCHAR(16) CHARACTER SET ascii NOT NULL,
			name  VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
			owner VARCHAR(64) CHARACTER SET ascii NOT NULL,
			PRIMARY KEY (kind, name)
		) ENGINE=InnoDB`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return a.fail(ctx, "making kubeship's ownership table", err)
		}
	}
	return nil
}

// recordedOwner returns the owner recorded for name, "" when there is none (or no table).
func (a *myAdmin) recordedOwner(ctx context.Context, conn *sql.Conn, kind, name string) (string, error) {
	var owner string
	err := conn.QueryRowContext(ctx, "SELECT owner FROM "+ownersTable+" WHERE kind = ? AND name = ?", kind, name).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows), myErrIs(err, myErrNoSuchTable), myErrIs(err, myErrUnknownDB):
		return "", nil
	case err != nil:
		return "", a.fail(ctx, fmt.Sprintf("reading the owner of %s %q", kind, name), err)
	}
	return owner, nil
}

// verifyOwner refuses name unless its row names owner; a name that exists on the server
// without a row was not made by kubeship. A name that neither exists nor has a row passes.
func (a *myAdmin) verifyOwner(ctx context.Context, conn *sql.Conn, kind, name, owner string, exists bool) error {
	got, err := a.recordedOwner(ctx, conn, kind, name)
	switch {
	case err != nil:
		return err
	case got == owner:
		return nil
	case got != "":
		return ownerConflict(kind, name, marker(got), "")
	case exists:
		return ownerConflict(kind, name, "", myMarkStatement(kind, name, owner))
	}
	return nil
}

// claim records owner for the user and the database, or refuses when either is not theirs
// to have. Both missing rows go in with one INSERT, so of two callers claiming the same
// names at once the primary key lets exactly one in, with both rows; the other finds them.
// proven says the caller logged in as the user to the database (claim.go): then existing
// names without rows are claimed too; rows of another owner are refused all the same.
func (a *myAdmin) claim(ctx context.Context, conn *sql.Conn, db, user, owner string, userExists, dbExists, proven bool) error {
	type name struct {
		kind, name string
		exists     bool
	}
	var missing []any
	for _, n := range []name{{kindUser, user, userExists}, {kindDatabase, db, dbExists}} {
		if err := a.verifyOwner(ctx, conn, n.kind, n.name, owner, n.exists && !proven); err != nil {
			return err
		}
		if got, err := a.recordedOwner(ctx, conn, n.kind, n.name); err != nil {
			return err
		} else if got == "" {
			missing = append(missing, n.kind, n.name, owner)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(missing)/3), ", ")
	_, err := conn.ExecContext(ctx, "INSERT INTO "+ownersTable+" (kind, name, owner) VALUES "+values, missing...)
	if myErrIs(err, myErrDupEntry) {
		return errors.Join(a.verifyOwner(ctx, conn, kindUser, user, owner, true), a.verifyOwner(ctx, conn, kindDatabase, db, owner, true))
	}
	if err != nil {
		return a.fail(ctx, fmt.Sprintf("claiming database %q and user %q", db, user), err)
	}
	return nil
}

// forget removes owner's rows for the user and the database, once both are dropped.
func (a *myAdmin) forget(ctx context.Context, conn *sql.Conn, db, user, owner string) error {
	_, err := conn.ExecContext(ctx, "DELETE FROM "+ownersTable+" WHERE owner = ? AND ((kind = ? AND name = ?) OR (kind = ? AND name = ?))",
		owner, kindUser, user, kindDatabase, db)
	if err == nil || myErrIs(err, myErrNoSuchTable) || myErrIs(err, myErrUnknownDB) {
		return nil
	}
	return a.fail(ctx, fmt.Sprintf("forgetting the owner of database %q and user %q", db, user), err)
}

// databaseExists looks db up by its exact name.
func (a *myAdmin) databaseExists(ctx context.Context, conn *sql.Conn, db string) (bool, error) {
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&n); err != nil {
		return false, a.fail(ctx, fmt.Sprintf("looking up database %q", db), err)
	}
	return n > 0, nil
}
